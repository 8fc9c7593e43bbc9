// A route declared once: method, path, who may call it, the zod contracts of its params, query and
// body, its responses and the error codes it answers with. `route()` installs the access check,
// validates the request with those contracts (the one "zod issues to 400" helper, parseWith) and
// records the declaration, so the function's OpenAPI document (GET /<name>/openapi.json, built by
// openapi.ts) is generated from exactly what validates the requests.
//
//   route(app, {
//     method: "post", path: "/:id/cancel", summary: "Cancel a job", access: "service_role",
//     params: { id: JobIdSchema }, body: CancelRequestSchema, bodyOptional: true,
//     invalid: { params: "jobs.invalid_id" }, errors: ["jobs.job_not_found", "jobs.not_cancellable"],
//     responses: { 200: { description: "cancelled", schema: CancelResponse } },
//   }, async (c, { params, body }) => c.json(...));
import type { Context, Hono, MiddlewareHandler } from "hono";
import type { z } from "zod";
import { parseWith, type ErrorCode } from "../../shared/errors.ts";
import { authenticate, readJson, requireOperator, requireReader, requireServiceRole, type FnEnv } from "./http.ts";
import { functionDoc } from "./openapi.ts";

/**
 * Who may call a route (DESIGN.md "Who may do what"):
 * - public: anyone who reaches the function (Supabase's gateway still asks for a project key);
 * - signed_in: any valid key; what it sees is decided by row level security (actp_can_read);
 * - reader: service role, operators and viewers; operator: service role and operators;
 * - service_role: the service role only.
 */
export type Access = "public" | "signed_in" | "reader" | "operator" | "service_role";

export type HttpMethod = "get" | "post" | "put" | "patch" | "delete";

type Shape = Record<string, z.ZodType>;

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
}

export interface RouteSpec<P extends Shape | undefined = Shape | undefined, Q extends z.ZodType | undefined = z.ZodType | undefined, B extends z.ZodType | undefined = z.ZodType | undefined> {
  method: HttpMethod;
  /** Hono's form, relative to the function: "/", "/:id", "/:id/cancel". */
  path: string;
  summary: string;
  description?: string;
  access: Access;
  /** One schema per path parameter, each validated on its own. */
  params?: P;
  /** The query string as an object (values arrive as strings: use z.coerce where a number is meant). */
  query?: Q;
  body?: B;
  /** A request without a body is parsed as `{}` (the schema decides whether that is enough). */
  bodyOptional?: boolean;
  /**
   * false when the statement the handler calls validates the query and body itself with these same
   * contracts (so callers outside HTTP get the same rules); the handler then receives them raw, and
   * the document still shows the schemas.
   */
  validate?: boolean;
  /** The code of a 400 for each part; "validation.failed" by default. */
  invalid?: ErrorCode | { params?: ErrorCode; query?: ErrorCode; body?: ErrorCode };
  responses: Record<number, ResponseSpec>;
  /** Further checks after the access check (a narrower rule the description explains). */
  use?: MiddlewareHandler<FnEnv>[];
  /** Codes this route answers with besides its 400s and the access check's 401/403. */
  errors?: ErrorCode[];
  tags?: string[];
}

export type RouteInput<P, Q, B> = {
  params: P extends Shape ? { [K in keyof P]: z.output<P[K]> } : Record<string, never>;
  query: Q extends z.ZodType ? z.output<Q> : Record<string, never>;
  body: B extends z.ZodType ? z.output<B> : undefined;
};

const ACCESS_CHECKS: Record<Access, MiddlewareHandler<FnEnv>[]> = {
  public: [],
  signed_in: [authenticate],
  reader: [authenticate, requireReader],
  operator: [authenticate, requireOperator],
  service_role: [authenticate, requireServiceRole],
};

function codeFor(spec: RouteSpec, part: "params" | "query" | "body"): ErrorCode {
  if (typeof spec.invalid === "string") return spec.invalid;
  return spec.invalid?.[part] ?? "validation.failed";
}

function queryObject(c: Context): Record<string, string> {
  return Object.fromEntries(new URL(c.req.url).searchParams.entries());
}

/** Declares, documents and serves one route of a function built with createFunctionApp. */
export function route<P extends Shape | undefined = undefined, Q extends z.ZodType | undefined = undefined, B extends z.ZodType | undefined = undefined>(
  app: Hono<FnEnv>,
  spec: RouteSpec<P, Q, B>,
  handler: (c: Context<FnEnv>, input: RouteInput<P, Q, B>) => Response | Promise<Response>,
): void {
  const doc = functionDoc(app);
  if (!doc) throw new Error(`route ${spec.method.toUpperCase()} ${spec.path}: the app was not made by createFunctionApp`);
  doc.routes.push(spec as RouteSpec);
  const final: MiddlewareHandler<FnEnv> = async (c) => {
    const params: Record<string, unknown> = {};
    for (const [name, schema] of Object.entries((spec.params ?? {}) as Shape)) {
      params[name] = parseWith(schema, c.req.param(name), codeFor(spec, "params"));
    }
    const check = spec.validate !== false;
    const query = spec.query ? (check ? parseWith(spec.query, queryObject(c), codeFor(spec, "query")) : queryObject(c)) : {};
    let body: unknown = undefined;
    if (spec.body) {
      const absent = c.req.raw.body === null || c.req.header("content-length") === "0";
      const raw = absent && spec.bodyOptional ? {} : await readJson(c);
      body = check ? parseWith(spec.body, raw, codeFor(spec, "body")) : raw;
    }
    return handler(c, { params, query, body } as RouteInput<P, Q, B>);
  };
  // Hono's typed overloads of `on` cannot take a spread of middleware; the handlers are plain ones.
  (app.on as unknown as (method: string, path: string, ...handlers: MiddlewareHandler<FnEnv>[]) => void)(
    spec.method.toUpperCase(),
    spec.path,
    ...ACCESS_CHECKS[spec.access],
    ...(spec.use ?? []),
    final,
  );
}
