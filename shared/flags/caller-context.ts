// Whose context a flag may be evaluated for. Readers (service role, operators, viewers) evaluate for
// any context: workers ask for an agent, operators debug a rollout. An end user (an authenticated
// caller with no actp_role) evaluates only for themself: every targeting id of the body ("agent",
// "user", "*_id") is dropped and "user" is the token's subject, so a user cannot learn whether
// another id is targeted or which rollout bucket it falls in. Non-id attributes are kept (they do
// not take part in the decision today). Anon evaluates nothing.
import type { Caller } from "../auth/roles.ts";
import { canRead } from "../auth/roles.ts";
import { forbidden } from "../errors.ts";
import { isIdKey, type FlagContext } from "./contracts.ts";

export function flagContextFor(caller: Caller, context: FlagContext): FlagContext {
  if (canRead(caller)) return context;
  if (caller.kind !== "user" || caller.sub === null) {
    throw forbidden("evaluating flags needs a signed-in user, an actp operator or viewer, or the service role");
  }
  const own: FlagContext = {};
  for (const [k, v] of Object.entries(context)) if (!isIdKey(k)) own[k] = v;
  own["user"] = caller.sub;
  return own;
}
