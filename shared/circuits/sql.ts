// Every SQL statement of the circuit breakers, one typed function each (pg-boss plans.ts style).
// The decisions themselves are plpgsql (migrations/20261124000021_circuit_breakers.sql).
import type { Queryable } from "../db/types.ts";
import {
  CircuitDecision,
  CircuitOverview,
  CircuitTransition,
  type CircuitConfigInput,
} from "./schema.ts";

export interface RecordInput {
  success: boolean;
  isProbe?: boolean;
  probeId?: string | null;
  /** { message, code?, where? } of the failure, already free of secrets. */
  error?: { message: string; code?: string; where?: string } | null;
}

export async function acquireCircuit(db: Queryable, tool: string, holder: string | null = null): Promise<CircuitDecision> {
  const { rows } = await db.query<{ r: unknown }>(`select public.actp_circuit_acquire($1, $2) as r`, [tool, holder]);
  return CircuitDecision.parse(rows[0]!.r);
}

export async function recordCircuit(db: Queryable, tool: string, input: RecordInput): Promise<CircuitTransition> {
  const { rows } = await db.query<{ r: unknown }>(`select public.actp_circuit_record($1, $2, $3, $4, $5) as r`, [
    tool,
    input.success,
    input.isProbe ?? false,
    input.probeId ?? null,
    input.error ? JSON.stringify(input.error) : null,
  ]);
  return CircuitTransition.parse(rows[0]!.r);
}

export async function resetCircuit(db: Queryable, tool: string): Promise<CircuitTransition> {
  const { rows } = await db.query<{ r: unknown }>(`select public.actp_circuit_reset($1) as r`, [tool]);
  return CircuitTransition.parse(rows[0]!.r);
}

export async function forceOpenCircuit(db: Queryable, tool: string, seconds: number | null = null): Promise<CircuitTransition> {
  const { rows } = await db.query<{ r: unknown }>(`select public.actp_circuit_force_open($1, $2) as r`, [tool, seconds]);
  return CircuitTransition.parse(rows[0]!.r);
}

export async function listCircuits(db: Queryable, tool: string | null = null): Promise<CircuitOverview[]> {
  const { rows } = await db.query<{ r: unknown }>(`select to_jsonb(o) as r from public.actp_circuit_overview($1) o`, [tool]);
  return rows.map((row) => CircuitOverview.parse(row.r));
}

/** Creates or updates a tool's configuration; omitted fields keep their value (or take the '*' row's). */
export async function upsertCircuitConfig(db: Queryable, tool: string, input: CircuitConfigInput): Promise<void> {
  await db.query(
    `insert into public.actp_circuit_configs
       (tool_name, failure_threshold, window_seconds, recovery_probe_seconds, probe_lease_seconds, fallback_tool)
     select $1,
            coalesce($2, d.failure_threshold), coalesce($3, d.window_seconds),
            coalesce($4, d.recovery_probe_seconds), coalesce($5, d.probe_lease_seconds),
            case when $7 then $6 else null end
     from public.actp_circuit_config($1) d
     on conflict (tool_name) do update set
       failure_threshold = coalesce($2, public.actp_circuit_configs.failure_threshold),
       window_seconds = coalesce($3, public.actp_circuit_configs.window_seconds),
       recovery_probe_seconds = coalesce($4, public.actp_circuit_configs.recovery_probe_seconds),
       probe_lease_seconds = coalesce($5, public.actp_circuit_configs.probe_lease_seconds),
       fallback_tool = case when $7 then $6 else public.actp_circuit_configs.fallback_tool end`,
    [
      tool,
      input.failure_threshold ?? null,
      input.window_seconds ?? null,
      input.recovery_probe_seconds ?? null,
      input.probe_lease_seconds ?? null,
      input.fallback_tool ?? null,
      input.fallback_tool !== undefined,
    ],
  );
}

/** Removes a tool's own configuration (it falls back to '*'); false when it had none. */
export async function deleteCircuitConfig(db: Queryable, tool: string): Promise<boolean> {
  const { rowCount } = await db.query(`delete from public.actp_circuit_configs where tool_name = $1 and tool_name <> '*'`, [tool]);
  return (rowCount ?? 0) > 0;
}
