// Reading the event log: filters by job, type and time range, keyset pagination on seq (never
// OFFSET, so a page is as cheap on the millionth event as on the first).
import { z } from "zod";
import type { Queryable } from "../db/types.ts";

export const EventQuery = z
  .object({
    job_id: z.uuid().optional(),
    type: z
      .string()
      .regex(/^[a-z][a-z_]*\.[a-z][a-z_]*(,[a-z][a-z_]*\.[a-z][a-z_]*)*$/, "a type or a comma-separated list of types")
      .optional(),
    agent_slug: z.string().min(1).max(100).optional(),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    after: z.coerce.bigint().nonnegative().optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict()
  .refine((q) => !q.from || !q.to || Date.parse(q.from) <= Date.parse(q.to), { message: "from must not be after to", path: ["from"] });
export type EventQuery = z.infer<typeof EventQuery>;

export interface StoredEvent {
  seq: string;
  id: string;
  type: string;
  job_id: string | null;
  step_id: string | null;
  agent_slug: string | null;
  tool_name: string | null;
  payload: Record<string, unknown>;
  created_at: string;
}

export interface EventPage {
  events: StoredEvent[];
  /** Pass as `after` for the next page; null when this page is the last. */
  next_cursor: string | null;
}

export async function readEvents(db: Queryable, q: EventQuery): Promise<EventPage> {
  const types = q.type ? q.type.split(",") : null;
  const { rows } = await db.query<StoredEvent>(
    `select seq::text, id, type, job_id, step_id, agent_slug, tool_name, payload, created_at
       from public.actp_events
      where ($1::uuid is null or job_id = $1)
        and ($2::text[] is null or type = any($2))
        and ($3::timestamptz is null or created_at >= $3)
        and ($4::timestamptz is null or created_at <= $4)
        and ($5::bigint is null or seq > $5)
        and ($6::text is null or agent_slug = $6)
      order by seq
      limit $7`,
    [q.job_id ?? null, types, q.from ?? null, q.to ?? null, q.after?.toString() ?? null, q.agent_slug ?? null, q.limit + 1],
  );
  const more = rows.length > q.limit;
  const events = more ? rows.slice(0, q.limit) : rows;
  return { events, next_cursor: more ? events.at(-1)!.seq : null };
}
