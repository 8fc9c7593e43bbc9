// The OpenAPI 3.1 document of a function, built from the routes it declared with route() (routes.ts):
// the same zod contracts that validate its requests, turned into JSON Schema by zod 4's
// z.toJSONSchema, and the error catalog for the statuses and codes of its failures.
// createFunctionApp serves it at GET /<name>/openapi.json; scripts/gen-api-docs.ts renders it into
// docs/api/.
import { z } from "zod";
import { ERROR_CODES, type ErrorCode } from "../../shared/errors/catalog.ts";
import type { Access, RouteSpec } from "./routes.ts";

/** The version of the HTTP API's contracts (not of the database schema). */
export const ACTP_API_VERSION = "0.1.0";

export interface FunctionDoc {
  name: string;
  title: string;
  description: string;
  routes: RouteSpec[];
}

// Keyed by the app value, so each function module owns its own list and nothing is global by name.
const docs = new WeakMap<object, FunctionDoc>();

export function registerFunctionDoc(app: object, doc: Omit<FunctionDoc, "routes">): void {
  docs.set(app, { ...doc, routes: [] });
}

export function functionDoc(app: object): FunctionDoc | undefined {
  return docs.get(app);
}

type JsonSchema = Record<string, unknown>;

/** JSON Schema 2020-12 (what OpenAPI 3.1 uses) of a contract; `io` picks the request or response side. */
export function jsonSchemaOf(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: "draft-2020-12", io, unrepresentable: "any" }) as JsonSchema;
  return rest;
}

const ACCESS_TEXT: Record<Access, string> = {
  public: "any caller (the Supabase gateway still asks for a project key)",
  signed_in: "any valid key; row level security decides what it sees (actp_can_read)",
  reader: "the service role, an operator or a viewer",
  operator: "the service role or an operator (app_metadata.actp_role = operator)",
  service_role: "the service role",
};

export const ERROR_BODY_SCHEMA: JsonSchema = {
  type: "object",
  required: ["error"],
  additionalProperties: false,
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      additionalProperties: false,
      properties: {
        code: { type: "string", description: "a stable code of the error catalog (docs/api/README.md#errors)" },
        message: { type: "string" },
        details: { description: "zod's issues for a 400, or facts of the error" },
      },
    },
  },
};

/** `/:id/cancel` to `/{id}/cancel`. */
export const openApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");

function operationId(name: string, r: RouteSpec): string {
  const parts = r.path.split("/").filter(Boolean).map((p) => (p.startsWith(":") ? `by_${p.slice(1)}` : p));
  return [name, r.method, ...parts].join("_").replace(/[^A-Za-z0-9_]/g, "_");
}

/** Every error code a route can answer with, by HTTP status (from the catalog). */
export function routeErrors(r: RouteSpec): Map<number, ErrorCode[]> {
  const codes = new Set<ErrorCode>();
  const invalid = (part: "params" | "query" | "body"): ErrorCode =>
    typeof r.invalid === "string" ? r.invalid : (r.invalid?.[part] ?? "validation.failed");
  if (r.params && Object.keys(r.params).length > 0) codes.add(invalid("params"));
  if (r.query) codes.add(invalid("query"));
  if (r.body) {
    codes.add("http.invalid_json");
    codes.add("http.payload_too_large");
    codes.add(invalid("body"));
  }
  if (r.access !== "public") codes.add("auth.unauthorized");
  if (r.access === "reader" || r.access === "operator" || r.access === "service_role") codes.add("auth.forbidden");
  for (const c of r.errors ?? []) codes.add(c);
  const byStatus = new Map<number, ErrorCode[]>();
  for (const c of [...codes].sort()) {
    const status = ERROR_CODES[c].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), c]);
  }
  return new Map([...byStatus].sort(([a], [b]) => a - b));
}

function operation(doc: FunctionDoc, r: RouteSpec): JsonSchema {
  const parameters: JsonSchema[] = [];
  for (const [name, schema] of Object.entries(r.params ?? {})) {
    parameters.push({ name, in: "path", required: true, schema: jsonSchemaOf(schema, "input") });
  }
  if (r.query) {
    const q = jsonSchemaOf(r.query, "input");
    const required = new Set((q.required as string[] | undefined) ?? []);
    for (const [name, schema] of Object.entries((q.properties as Record<string, JsonSchema> | undefined) ?? {})) {
      const { description, ...rest } = schema;
      parameters.push({ name, in: "query", required: required.has(name), ...(description ? { description } : {}), schema: rest });
    }
  }
  const responses: JsonSchema = {};
  for (const [status, spec] of Object.entries(r.responses)) {
    responses[status] = spec.schema
      ? { description: spec.description, content: { "application/json": { schema: jsonSchemaOf(spec.schema, "output") } } }
      : { description: spec.description };
  }
  for (const [status, codes] of routeErrors(r)) {
    responses[String(status)] = {
      description: codes.map((c) => `\`${c}\`: ${ERROR_CODES[c].description}`).join("; "),
      content: {
        "application/json": {
          schema: {
            allOf: [
              { $ref: "#/components/schemas/Error" },
              { properties: { error: { properties: { code: { enum: codes } } } } },
            ],
          },
        },
      },
    };
  }
  return {
    operationId: operationId(doc.name, r),
    summary: r.summary,
    ...(r.description ? { description: r.description } : {}),
    tags: r.tags ?? [doc.name],
    "x-actp-access": r.access,
    "x-actp-access-description": ACCESS_TEXT[r.access],
    security: r.access === "public" ? [] : [{ bearer: [] }],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(r.body
      ? {
          requestBody: {
            required: !r.bodyOptional,
            content: { "application/json": { schema: jsonSchemaOf(r.body, "input") } },
          },
        }
      : {}),
    responses,
  };
}

/** The function's OpenAPI 3.1 document. */
export function openApiDocument(doc: FunctionDoc): JsonSchema {
  const paths: Record<string, JsonSchema> = {};
  for (const r of doc.routes) {
    const p = `/${doc.name}${openApiPath(r.path === "/" ? "" : r.path)}`;
    paths[p] = { ...(paths[p] ?? {}), [r.method]: operation(doc, r) };
  }
  return {
    openapi: "3.1.0",
    info: { title: doc.title, version: ACTP_API_VERSION, description: doc.description },
    servers: [{ url: "/functions/v1", description: "the Supabase functions URL of the project (or `actp dev`'s gateway)" }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "the project's anon or service_role key, or a user's access token" },
      },
      schemas: { Error: ERROR_BODY_SCHEMA },
    },
  };
}
