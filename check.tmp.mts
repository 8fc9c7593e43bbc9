import { PGlite } from "@electric-sql/pglite";
import { EVENT_TYPES, eventTypeNames, parseEventInput, nearestEventTypes, parseEventBatch } from "/work/main/shared/events/registry.ts";
import { buildEmitStatement } from "/work/main/shared/events/emit-sql.ts";
const db = new PGlite();
await db.exec(`create table actp_event_types(type text primary key, event_group text not null, description text not null);
create table actp_events(seq bigint generated always as identity primary key, id uuid default gen_random_uuid() unique, type text not null references actp_event_types(type), job_id uuid, step_id text, agent_slug text, tool_name text, payload jsonb not null default '{}', created_at timestamptz not null default now());`);
for (const t of eventTypeNames) await db.query("insert into actp_event_types values ($1,$2,$3)", [t, EVENT_TYPES[t].group, EVENT_TYPES[t].description]);
const evs = eventTypeNames.map((t, i) => {
  const r = parseEventInput({ type: t, job_id: i % 2 ? "1b4e28ba-2fa1-41d2-883f-0016d3cca427" : null, step_id: i % 3 ? "s'); drop table x; --" : undefined, payload: EVENT_TYPES[t].example });
  if (!r.success) throw new Error(t + " " + r.message);
  return r.data;
});
const st = buildEmitStatement(evs);
const res = await db.query<any>(st.text, st.values);
console.log(res.rows.length, res.rows[0], res.rows.at(-1));
const back = await db.query<any>("select type, job_id, step_id, payload from actp_events order by seq");
console.log(back.rows.map((r: any) => r.type).join(",") === eventTypeNames.join(","), back.rows[1]);
try { await db.query(st.text, [JSON.stringify([{ type: "nope", payload: {} }])]); } catch (e: any) { console.log("fk:", e.code, e.message); }
console.log(nearestEventTypes("job.complete"), nearestEventTypes("completed"), nearestEventTypes("heartbeat"), nearestEventTypes("zzzzzzzzzz"), nearestEventTypes("circuit_open"), nearestEventTypes("job"));
const bad = parseEventInput({ type: "job.complete", payload: {} });
console.log(JSON.stringify(bad));
const bad2 = parseEventInput({ type: "job.failed", jobId: "x", payload: { attempt: 0, extra: { nested: { api_key: "abc" } }, headers: { Authorization: "x" }, msg: "Bearer abcdefghijklmnopqrstuvwxyz" } });
console.log(JSON.stringify(bad2, null, 1));
console.log(JSON.stringify(parseEventBatch([{ type: "heartbeat.ok", payload: { worker_id: "w" } }, { type: "x.y", payload: {} }])));
