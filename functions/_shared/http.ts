// The one way to build a function: createFunctionApp(name) gives a Hono app mounted where Supabase
// mounts it (/<name>), with the platform's error shape, CORS, a 1 MiB body limit, and helpers for
// the caller's role and for validated JSON bodies.
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { cors } from "hono/cors";
import type { z } from "zod";
import { ActpError, fromPgError, unauthorized, forbidden, badRequest, parseWith, type ErrorCode } from "../../shared/errors.ts";

// The one "zod issues to 400" conversion lives in shared/errors.ts, so the SDK and the CLI answer alike.
export { parseWith };
import { verifyBearer, bearerToken } from "../../shared/auth/jwt.ts";
import type { JwtClaims } from "../../shared/db/types.ts";
import { callerOf, canAct, canRead, actorOf, type Caller } from "../../shared/auth/roles.ts";
import { runtime } from "./runtime.ts";
import { functionDoc, openApiDocument, registerFunctionDoc } from "./openapi.ts";
import { assertSafeJson } from "../../shared/input/safe-json.ts";

export const MAX_BODY_BYTES = 1024 * 1024;

const HTTP_EXCEPTION_CODES: Partial<Record<number, ErrorCode>> = {
  401: "auth.unauthorized",
  403: "auth.forbidden",
  404: "http.not_found",
  413: "http.payload_too_large",
};

export type FnEnv = { Variables: { claims: JwtClaims } };

export interface FunctionMeta {
  /** A title for the function's OpenAPI document ("actp <name>" by default). */
  title?: string;
  /** What the function is for, and who may call what; the first paragraph of its API reference. */
  description?: string;
}

export function createFunctionApp(name: string, meta: FunctionMeta = {}): Hono<FnEnv> {
  const app = new Hono<FnEnv>().basePath(`/${name}`);
  registerFunctionDoc(app, { name, title: meta.title ?? `actp ${name}`, description: meta.description ?? "" });
  // Path and query parameters reach SQL too: NUL and broken Unicode are refused before any route.
  app.use("*", async (c, next) => {
    assertSafeUrl(c.req.url);
    await next();
  });
  // Registered before any middleware the function adds, so the document needs no role: it is the
  // routes' contracts, no data. Built per request because routes are declared after this line.
  app.get("/openapi.json", (c) => c.json(openApiDocument(functionDoc(app)!)));
  app.use(
    "*",
    cors({
      origin: "*",
      allowHeaders: ["authorization", "x-client-info", "apikey", "content-type"],
      allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    }),
  );
  app.onError((err, c) => {
    if (err instanceof ActpError) return c.json(err.toBody(), err.status as 400);
    const mapped = fromPgError(err);
    if (mapped) return c.json(mapped.toBody(), mapped.status as 400);
    // A value nested past what zod or JSON.stringify can recurse through is the caller's input.
    if (err instanceof RangeError && /call stack/i.test(err.message)) {
      return c.json(new ActpError("input.too_deep", "input nests too deeply to process").toBody(), 400);
    }
    if (err instanceof HTTPException) {
      // Hono's own middleware throws these; each status has its code in the catalog.
      const e = new ActpError(HTTP_EXCEPTION_CODES[err.status] ?? "http.error", err.message || "request failed");
      return c.json(e.toBody(), e.status as 400);
    }
    // Unexpected: log the error server-side, never echo internals (or secrets) to the caller.
    console.error(`[${name}]`, err);
    return c.json(new ActpError("internal", "internal error").toBody(), 500);
  });
  app.notFound((c) => c.json(new ActpError("http.not_found", `no route ${c.req.method} ${new URL(c.req.url).pathname}`).toBody(), 404));
  return app;
}

/** Resolves the caller's claims from the bearer token; 401 when there is none or it is invalid. */
export const authenticate: MiddlewareHandler<FnEnv> = async (c, next) => {
  // A route may be reached through an app-wide authenticate and its own: verify once.
  if (c.get("claims")) return next();
  const rt = runtime();
  const header = c.req.header("authorization");
  const token = bearerToken(header);
  if (!token) throw unauthorized();
  if (rt.serviceRoleKey && token === rt.serviceRoleKey) {
    c.set("claims", { role: "service_role" });
  } else if (rt.jwtSecret) {
    const v = await verifyBearer(rt.jwtSecret, header);
    if (!v.ok) throw unauthorized(v.reason);
    c.set("claims", v.claims);
  } else {
    throw unauthorized("this deployment cannot verify tokens: set ACTP_JWT_SECRET");
  }
  await next();
};

export const requireServiceRole: MiddlewareHandler<FnEnv> = async (c, next) => {
  if (c.get("claims")?.role !== "service_role") throw forbidden();
  await next();
};

/** The caller in actp's terms (shared/auth/roles.ts); use after `authenticate`. */
export const callerFrom = (c: Context<FnEnv>): Caller => callerOf(c.get("claims"));

/** The identity an action records: from the token, never from the body. */
export const actorFrom = (c: Context<FnEnv>): string => actorOf(callerFrom(c));

/** Service role, operators and viewers: read everything of actp's. Anyone else: 403. */
export const requireReader: MiddlewareHandler<FnEnv> = async (c, next) => {
  if (!canRead(callerFrom(c))) throw forbidden("this needs an actp operator or viewer (app_metadata.actp_role) or the service role");
  await next();
};

/**
 * A signed-in caller of any kind (readers, or an end user with a `sub`); anon: 403. For routes an
 * end user may call for themself, so anon is refused before its body is read.
 */
export const requireSignedIn: MiddlewareHandler<FnEnv> = async (c, next) => {
  const caller = callerFrom(c);
  if (!canRead(caller) && (caller.kind !== "user" || caller.sub === null)) {
    throw forbidden("this needs a signed-in user, an actp operator or viewer, or the service role");
  }
  await next();
};

/** Service role and operators: act (DLQ review, approvals, circuits, incidents). Viewers: 403. */
export const requireOperator: MiddlewareHandler<FnEnv> = async (c, next) => {
  if (!canAct(callerFrom(c))) throw forbidden("this needs an actp operator (app_metadata.actp_role = operator) or the service role");
  await next();
};

const tooLarge = () => new ActpError("http.payload_too_large", `body exceeds ${MAX_BODY_BYTES} bytes`, { details: { limit: MAX_BODY_BYTES } });

/**
 * Reads a request body as a stream and stops at `limit` bytes: a declared Content-Length over the
 * limit is refused before a byte is read, a chunked body the moment it passes the limit (the rest is
 * never read, so memory stays bounded by the limit whatever the sender streams). Call it only after
 * the caller is authenticated and authorized: routes put `authenticate` and the role check first.
 */
export async function readBodyBytes(c: Context, limit = MAX_BODY_BYTES): Promise<Uint8Array> {
  const declared = c.req.header("content-length");
  if (declared !== undefined && Number(declared) > limit) throw tooLarge();
  const body = c.req.raw.body;
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let step: ReadableStreamReadResult<Uint8Array>;
    try {
      step = await reader.read();
    } catch (err) {
      // The gateway cut the body at its limit, or the client went away mid-body.
      if (err instanceof ActpError) throw err;
      throw badRequest("http.body_incomplete", "the request body ended before it was complete");
    }
    const { done, value } = step;
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/**
 * Reads a JSON body once: 413 past the limit, 400 when it is not UTF-8 JSON, and 400 through
 * assertSafeJson when it holds NUL, an unpaired surrogate or nests past MAX_JSON_DEPTH.
 */
export async function readJson(c: Context): Promise<unknown> {
  const buf = await readBodyBytes(c);
  if (buf.byteLength === 0) throw badRequest("http.invalid_json", "request body is empty; expected JSON");
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(buf));
  } catch {
    throw badRequest("http.invalid_json", "request body is not valid JSON");
  }
  assertSafeJson(value, "body");
  return value;
}

/** Refuses a URL whose decoded path segments or query parameters are not text Postgres can store. */
export function assertSafeUrl(raw: string): void {
  const url = new URL(raw);
  const segments = url.pathname.split("/").map((seg) => {
    try {
      return decodeURIComponent(seg);
    } catch {
      throw badRequest("input.invalid_unicode", "path: a segment is not valid percent-encoded UTF-8", { where: "path" });
    }
  });
  assertSafeJson(segments, "path");
  assertSafeJson([...url.searchParams.entries()], "query");
}


export async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  return parseWith(schema, await readJson(c));
}

export function queryParams(c: Context): Record<string, string> {
  return Object.fromEntries(new URL(c.req.url).searchParams.entries());
}
