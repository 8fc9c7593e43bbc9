// Every SQL statement of model routing, one typed function each (pg-boss plans.ts style).
import type { Queryable } from "../db/types.ts";
import { notFound } from "../errors.ts";
import { ModelRoute, RouteDecision, type ModelRouteCreate, type ModelRouteUpdate } from "./schema.ts";

export interface RouteOptions {
  /** Input tokens of the request; null or omitted: unknown. */
  context_length?: number | null;
  /** US dollars the caller may still spend; null or omitted: no known limit. */
  budget_remaining?: number | null;
}

/** route(task_type, { context_length, budget_remaining }): the ordered candidates and the skipped routes. */
export async function route(db: Queryable, taskType: string, opts: RouteOptions = {}): Promise<RouteDecision> {
  const { rows } = await db.query<{ r: unknown }>(`select public.actp_model_route($1, $2, $3) as r`, [
    taskType,
    opts.context_length ?? null,
    opts.budget_remaining ?? null,
  ]);
  return RouteDecision.parse(rows[0]!.r);
}

const ROUTE_JSON = `to_jsonb(r) - 'created_at' - 'updated_at'
  || jsonb_build_object('created_at', to_jsonb(r.created_at), 'updated_at', to_jsonb(r.updated_at))`;

export async function listRoutes(db: Queryable, taskType: string | null = null): Promise<ModelRoute[]> {
  const { rows } = await db.query<{ r: unknown }>(
    `select ${ROUTE_JSON} as r from public.actp_model_routes r
     where $1::text is null or r.task_type = $1
     order by r.task_type, r.priority, r.model`,
    [taskType],
  );
  return rows.map((row) => ModelRoute.parse(row.r));
}

export async function createRoute(db: Queryable, input: ModelRouteCreate): Promise<ModelRoute> {
  const { rows } = await db.query<{ r: unknown }>(
    `insert into public.actp_model_routes as r
       (task_type, provider, model, priority, max_cost_usd, conditions, input_usd_per_mtok, output_usd_per_mtok, enabled)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     returning ${ROUTE_JSON} as r`,
    [
      input.task_type,
      input.provider,
      input.model,
      input.priority,
      input.max_cost_usd,
      JSON.stringify(input.conditions),
      input.input_usd_per_mtok,
      input.output_usd_per_mtok,
      input.enabled,
    ],
  );
  return ModelRoute.parse(rows[0]!.r);
}

export async function updateRoute(db: Queryable, id: string, patch: ModelRouteUpdate): Promise<ModelRoute> {
  const { rows } = await db.query<{ r: unknown }>(
    `update public.actp_model_routes r set
       priority = coalesce($2, r.priority),
       max_cost_usd = case when $3 then $4 else r.max_cost_usd end,
       conditions = coalesce($5::jsonb, r.conditions),
       input_usd_per_mtok = coalesce($6, r.input_usd_per_mtok),
       output_usd_per_mtok = coalesce($7, r.output_usd_per_mtok),
       enabled = coalesce($8, r.enabled)
     where r.id = $1
     returning ${ROUTE_JSON} as r`,
    [
      id,
      patch.priority ?? null,
      patch.max_cost_usd !== undefined,
      patch.max_cost_usd ?? null,
      patch.conditions === undefined ? null : JSON.stringify(patch.conditions),
      patch.input_usd_per_mtok ?? null,
      patch.output_usd_per_mtok ?? null,
      patch.enabled ?? null,
    ],
  );
  if (rows.length === 0) throw notFound("model_router.not_found", `no route with id ${id}`);
  return ModelRoute.parse(rows[0]!.r);
}

export async function deleteRoute(db: Queryable, id: string): Promise<void> {
  const { rowCount } = await db.query(`delete from public.actp_model_routes where id = $1`, [id]);
  if ((rowCount ?? 0) === 0) throw notFound("model_router.not_found", `no route with id ${id}`);
}
