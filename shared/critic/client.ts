// The critic over HTTPS, for callers outside the database's reach (a script, another service):
// Node 18+, Deno and browsers all have fetch. Errors come back as the ActpError the function raised.
import { ActpError, isErrorCode } from "../errors.ts";
import { ReviewResult, type ReviewRequest } from "./contracts.ts";

export interface CriticClientOptions {
  /** The project URL (http://127.0.0.1:54321 locally, https://<ref>.supabase.co deployed). */
  url: string;
  /** A service role key, or an operator's or viewer's access token. */
  key: string;
  fetch?: typeof fetch;
}

export function criticClient(o: CriticClientOptions) {
  const f = o.fetch ?? fetch;
  const endpoint = `${o.url.replace(/\/+$/, "")}/functions/v1/critic/review`;
  return {
    async review(req: ReviewRequest): Promise<ReviewResult> {
      const res = await f(endpoint, {
        method: "POST",
        headers: { authorization: `Bearer ${o.key}`, "content-type": "application/json" },
        body: JSON.stringify(req),
      });
      const body = (await res.json().catch(() => null)) as { error?: { code: string; message: string; details?: unknown } } | null;
      if (!res.ok) {
        const code = body?.error?.code;
        throw new ActpError(code && isErrorCode(code) ? code : "critic.http_error", body?.error?.message ?? `critic answered ${res.status}`, {
          details: body?.error?.details,
        });
      }
      return ReviewResult.parse(body);
    },
  };
}
