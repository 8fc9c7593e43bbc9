// Every SQL statement of the Telegram integration, one typed function each.
import type { Queryable } from "../db/types.ts";
import type { ChatInput } from "./contracts.ts";

export interface ChatRow {
  chat_id: string;
  title: string;
  alerts: boolean;
  can_read: boolean;
  can_act: boolean;
  next_send_at: string | null;
}

export async function findChat(db: Queryable, chatId: number): Promise<ChatRow | null> {
  const { rows } = await db.query<ChatRow>(
    `select chat_id::text, title, alerts, can_read, can_act, next_send_at from public.actp_telegram_chats where chat_id = $1`,
    [chatId],
  );
  return rows[0] ?? null;
}

export async function listChats(db: Queryable): Promise<ChatRow[]> {
  const { rows } = await db.query<ChatRow>(
    `select chat_id::text, title, alerts, can_read, can_act, next_send_at from public.actp_telegram_chats order by chat_id`,
  );
  return rows;
}

export async function upsertChat(db: Queryable, chatId: number, c: ChatInput): Promise<ChatRow> {
  const { rows } = await db.query<ChatRow>(
    `insert into public.actp_telegram_chats (chat_id, title, alerts, can_read, can_act) values ($1, $2, $3, $4, $5)
     on conflict (chat_id) do update set title = excluded.title, alerts = excluded.alerts, can_read = excluded.can_read, can_act = excluded.can_act
     returning chat_id::text, title, alerts, can_read, can_act, next_send_at`,
    [chatId, c.title, c.alerts, c.can_read, c.can_act],
  );
  return rows[0]!;
}

export async function deleteChat(db: Queryable, chatId: number): Promise<boolean> {
  const { rowCount } = await db.query(`delete from public.actp_telegram_chats where chat_id = $1`, [chatId]);
  return (rowCount ?? 0) > 0;
}

/** First sight of an update (false: Telegram delivered it again, ignore it). */
export async function seeUpdate(db: Queryable, u: { updateId: number; chatId: number | null; fromId: number | null; kind: string; allowed: boolean }): Promise<boolean> {
  const { rows } = await db.query<{ fresh: boolean }>(`select public.actp_telegram_see_update($1, $2, $3, $4, $5) as fresh`, [
    u.updateId,
    u.chatId,
    u.fromId,
    u.kind,
    u.allowed,
  ]);
  return rows[0]!.fresh;
}

/** Spends a button's nonce: false when it was spent before (a replayed button). */
export async function useNonce(db: Queryable, nonce: string, userId: number): Promise<boolean> {
  const { rows } = await db.query<{ fresh: boolean }>(`select public.actp_telegram_use_nonce($1, $2) as fresh`, [nonce, userId]);
  return rows[0]!.fresh;
}

export interface ActionRecord {
  chatId: number | null;
  userId: number | null;
  username: string | null;
  action: string;
  target: string | null;
  ok: boolean;
  result: Record<string, unknown>;
}

export async function recordAction(db: Queryable, a: ActionRecord): Promise<void> {
  await db.query(
    `insert into public.actp_telegram_actions (chat_id, telegram_user_id, telegram_username, action, target, ok, result)
     values ($1, $2, $3, $4, $5, $6, $7::jsonb)`,
    [a.chatId, a.userId, a.username, a.action, a.target, a.ok, JSON.stringify(a.result)],
  );
}

export interface StatusSnapshot {
  mode: string;
  reason: string | null;
  changed_at: string;
  incident: { id: string; declared_at: string; trigger_reason: string; acknowledged_by: string | null; peak_mode: string } | null;
  firing: string[];
  sla: Array<{ job_type: string; status: string; burn_1h: number | null; budget_remaining: number | null; total_1h: number }>;
  circuits: Array<{ tool_name: string; state: string; reopens_at: string | null }>;
  dlq_pending: number;
}

export async function statusSnapshot(db: Queryable): Promise<StatusSnapshot> {
  const { rows } = await db.query<{ s: StatusSnapshot }>(
    `select jsonb_build_object(
       'mode', ps.mode, 'reason', ps.reason, 'changed_at', ps.changed_at,
       'incident', (select jsonb_build_object('id', l.id, 'declared_at', l.declared_at, 'trigger_reason', l.trigger_reason,
                                              'acknowledged_by', l.acknowledged_by, 'peak_mode', l.peak_mode)
                      from public.actp_incident_log l where l.id = ps.incident_id),
       'firing', coalesce((select jsonb_agg(s.name order by s.name) from public.actp_incident_detector_state s where s.firing), '[]'),
       'sla', coalesce((select jsonb_agg(jsonb_build_object('job_type', b.job_type, 'status', b.status, 'burn_1h', b.burn_1h,
                                                            'budget_remaining', b.budget_remaining, 'total_1h', b.total_1h) order by b.job_type)
                          from public.actp_sla_budget_status() b), '[]'),
       'circuits', coalesce((select jsonb_agg(jsonb_build_object('tool_name', c.tool_name, 'state', c.state, 'reopens_at', c.reopens_at) order by c.tool_name)
                               from public.actp_circuit_states c where c.state <> 'closed'), '[]'),
       'dlq_pending', (select count(*) from public.actp_dlq d where d.resolution is null)) as s
       from public.actp_platform_state ps where ps.id`,
  );
  return rows[0]!.s;
}
