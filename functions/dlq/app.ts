// dlq: the dead-letter queue and its human review (PRD §4.11). Reads are for readers (service role,
// operators, viewers; RLS agrees); review actions for operators and the service role, recorded as the
// token's identity with the body's reviewer kept as a label. Each action is one SQL function call: one transaction, idempotent, evented.
import type { Context } from "hono";
import { createFunctionApp, authenticate, requireOperator, requireReader, readJson, parseWith, queryParams, type FnEnv } from "../_shared/http.ts";
import { runtime } from "../_shared/runtime.ts";
import { actAsCaller } from "../_shared/act.ts";
import { BulkReplayBody, DiscardBody, DlqId, DlqListQuery, FixBody, ReplayBody } from "../../shared/dlq/contracts.ts";
import { discardDlq, fixDlq, getDlqItem, listDlq, replayDlq, replayDlqBulk } from "../../shared/dlq/queries.ts";

export const app = createFunctionApp("dlq");

const dlqId = (c: Context<FnEnv>) => parseWith(DlqId, c.req.param("id"), "dlq.invalid_id");

/** Replay may be posted without a body; anything that is sent must still be valid JSON. */
const optionalJson = (c: Context<FnEnv>) => (c.req.raw.body === null ? Promise.resolve({}) : readJson(c));

/** Who is acting when the body does not say: the token's subject, else the role itself. */
const actor = (c: Context<FnEnv>) => {
  const claims = c.get("claims");
  return typeof claims.sub === "string" && claims.sub !== "" ? claims.sub : claims.role;
};

app.get("/", authenticate, requireReader, async (c) => {
  const q = parseWith(DlqListQuery, queryParams(c), "dlq.invalid_query");
  return c.json(await runtime().db.asRole(c.get("claims"), (tx) => listDlq(tx, q)));
});

app.post("/replay", authenticate, requireOperator, async (c) => {
  const body = parseWith(BulkReplayBody, await readJson(c), "dlq.invalid_request");
  return c.json(await actAsCaller(c, (tx) => replayDlqBulk(tx, body)));
});

app.get("/:id", authenticate, requireReader, async (c) => {
  const id = dlqId(c);
  return c.json(await runtime().db.asRole(c.get("claims"), (tx) => getDlqItem(tx, id)));
});

app.post("/:id/replay", authenticate, requireOperator, async (c) => {
  const id = dlqId(c);
  const body = parseWith(ReplayBody, await optionalJson(c), "dlq.invalid_request");
  const r = await actAsCaller(c, (tx) => replayDlq(tx, id, body.reviewer ?? actor(c), body.note));
  return c.json(r, r.already_resolved ? 200 : 201);
});

app.post("/:id/discard", authenticate, requireOperator, async (c) => {
  const id = dlqId(c);
  const body = parseWith(DiscardBody, await readJson(c), "dlq.invalid_request");
  return c.json(await actAsCaller(c, (tx) => discardDlq(tx, id, body.reviewer, body.note)));
});

app.post("/:id/fix", authenticate, requireOperator, async (c) => {
  const id = dlqId(c);
  const body = parseWith(FixBody, await readJson(c), "dlq.invalid_request");
  const r = await actAsCaller(c, (tx) => fixDlq(tx, id, body.reviewer, body.input, body.note));
  return c.json(r, r.already_resolved ? 200 : 201);
});
