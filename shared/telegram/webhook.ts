// The Telegram webhook's decisions: who may talk to the bot (the allowlist in actp_telegram_chats),
// what each command answers, and what each button does. Every update is seen once (update_id), an
// unknown chat is ignored and logged, and every action is recorded with the Telegram user who took
// it. Buttons carry signed, expiring, single-use callback data (callback.ts).
import type { Database, Queryable } from "../db/types.ts";
import { ActpError } from "../errors.ts";
import { getDlqItem, listDlqGroups, replayDlq, discardDlq, replayDlqGroup } from "../dlq/queries.ts";
import { acknowledgeIncident } from "../incidents/queries.ts";
import type { InlineButton, TelegramBot } from "./bot-api.ts";
import { signCallback, verifyCallback, type CallbackAction } from "./callback.ts";
import type { TelegramUpdate } from "./contracts.ts";
import { escapeCut, escapeHtml, splitMessage } from "./html.ts";
import { code } from "./render.ts";
import { findChat, recordAction, seeUpdate, statusSnapshot, useNonce, type ChatRow } from "./queries.ts";

export interface WebhookDeps {
  db: Database;
  bot: TelegramBot;
  callbackKey: string;
  now?: () => number;
  log?: (line: string) => void;
}

export type WebhookOutcome = "duplicate" | "ignored_chat" | "ignored" | "handled" | "refused";

type Who = { chatId: number | null; userId: number | null; username: string | null };

/** The identity an action from Telegram records: the Telegram user, never a name from the text. */
export const telegramActor = (w: Who) => `telegram:${w.userId ?? "unknown"}${w.username ? ` (@${w.username})` : ""}`;

const SERVICE = { role: "service_role" } as const;

export async function handleUpdate(deps: WebhookDeps, u: TelegramUpdate): Promise<WebhookOutcome> {
  const log = deps.log ?? ((l: string) => console.warn(l));
  const msg = u.message;
  const cb = u.callback_query;
  const chatId = msg?.chat.id ?? cb?.message?.chat.id ?? null;
  const from = msg?.from ?? cb?.from ?? null;
  const who: Who = { chatId, userId: from?.id ?? null, username: from?.username ?? null };
  const kind = cb ? "callback_query" : msg ? (msg.text?.startsWith("/") ? "command" : "message") : "other";

  const chat = chatId === null ? null : await deps.db.asRole(SERVICE, (tx) => findChat(tx, chatId));
  const fresh = await deps.db.asRole(SERVICE, (tx) =>
    seeUpdate(tx, { updateId: u.update_id, chatId, fromId: who.userId, kind, allowed: chat !== null }),
  );
  if (!fresh) return "duplicate";
  if (!chat) {
    // Logged without the message text: a stranger's words are not ours to keep.
    log(`[telegram] update ${u.update_id} from chat ${chatId ?? "none"} (user ${who.userId ?? "none"}) ignored: chat not allowlisted`);
    return "ignored_chat";
  }
  if (cb) return handleCallback(deps, chat, who, cb);
  if (msg?.text?.startsWith("/")) return handleCommand(deps, chat, who, msg.text);
  return "ignored";
}

function parseCommand(text: string): { cmd: string; args: string } {
  const m = /^\/([a-z_]{1,32})(?:@[A-Za-z0-9_]{1,64})?(?:\s+([\s\S]*))?$/.exec(text.trim());
  return m ? { cmd: m[1]!, args: (m[2] ?? "").trim() } : { cmd: "", args: "" };
}

/** Sends a reply split at Telegram's length limit; the buttons go with the last part. */
async function reply(deps: WebhookDeps, chatId: number, text: string, keyboard?: InlineButton[][]): Promise<void> {
  const parts = splitMessage(text);
  for (const [i, part] of parts.entries()) {
    const markup = i === parts.length - 1 && keyboard && keyboard.length > 0 ? { reply_markup: { inline_keyboard: keyboard } } : {};
    await deps.bot.sendMessage({ chat_id: chatId, text: part, ...markup });
  }
}

async function record(deps: WebhookDeps, who: Who, action: string, target: string | null, ok: boolean, result: Record<string, unknown>): Promise<void> {
  await deps.db.asRole(SERVICE, (tx) => recordAction(tx, { ...who, action, target, ok, result }));
}

const HELP = [
  "<b>actp bot</b>",
  "/status: platform mode, open incident, SLA, open circuits",
  "/dlq: dead-lettered jobs grouped by error, with show / replay / discard buttons",
  "/ack [note]: acknowledge the open incident (silences repeat alerts)",
].join("\n");

async function handleCommand(deps: WebhookDeps, chat: ChatRow, who: Who, text: string): Promise<WebhookOutcome> {
  const chatId = Number(chat.chat_id);
  const { cmd, args } = parseCommand(text);
  switch (cmd) {
    case "status": {
      if (!chat.can_read) return refuse(deps, chatId, who, "status", null, "this chat may not read actp's status");
      await reply(deps, chatId, renderStatus(await deps.db.asRole(SERVICE, (tx) => statusSnapshot(tx))));
      await record(deps, who, "status", null, true, {});
      return "handled";
    }
    case "dlq": {
      if (!chat.can_read) return refuse(deps, chatId, who, "dlq", null, "this chat may not read the DLQ");
      const groups = await deps.db.asRole(SERVICE, (tx) => listDlqGroups(tx, { status: "pending" }));
      const shown = groups.slice(0, 8);
      const lines = [`<b>DLQ: ${groups.reduce((s, g) => s + g.pending, 0)} pending in ${groups.length} group${groups.length === 1 ? "" : "s"}</b>`];
      const keyboard: InlineButton[][] = [];
      const now = (deps.now ?? Date.now)();
      for (const [i, g] of shown.entries()) {
        lines.push(
          "",
          `${i + 1}. <b>${escapeCut(g.job_type, 100)}</b> ×${g.pending} ${code(g.fingerprint)}`,
          `<i>${escapeCut(g.sample_reason, 300)}</i>`,
          `first ${escapeHtml(g.first_seen)} · last ${escapeHtml(g.last_seen)}`,
        );
        const row: InlineButton[] = [{ text: `Show #${i + 1}`, callback_data: await signCallback(deps.callbackKey, "show", g.sample_dlq_id, now) }];
        if (chat.can_act) row.push({ text: `Replay #${i + 1} (${g.pending})`, callback_data: await signCallback(deps.callbackKey, "replay_group", g.fingerprint, now) });
        keyboard.push(row);
      }
      if (groups.length === 0) lines.push("", "Nothing waits for review.");
      if (groups.length > shown.length) lines.push("", `…and ${groups.length - shown.length} more groups (dashboard or GET /functions/v1/dlq/groups)`);
      await reply(deps, chatId, lines.join("\n"), keyboard);
      await record(deps, who, "dlq", null, true, { groups: groups.length });
      return "handled";
    }
    case "ack": {
      if (!chat.can_act) return refuse(deps, chatId, who, "ack", null, "this chat may not acknowledge incidents");
      try {
        const r = await deps.db.asRole(SERVICE, (tx) => acknowledgeIncident(tx, args === "" ? null : args.slice(0, 2000), telegramActor(who)));
        await reply(
          deps,
          chatId,
          r.already_acknowledged
            ? `Already acknowledged by ${escapeHtml(r.incident?.acknowledged_by)}.`
            : `Acknowledged incident ${code(r.incident?.id)} as ${escapeHtml(telegramActor(who))}. Repeat alerts are silenced.`,
        );
        await record(deps, who, "ack", r.incident?.id ?? null, true, { already: r.already_acknowledged });
      } catch (err) {
        if (!(err instanceof Error)) throw err;
        await reply(deps, chatId, escapeHtml(userMessage(err)));
        await record(deps, who, "ack", null, false, { error: userMessage(err) });
      }
      return "handled";
    }
    case "help":
    case "start":
      await reply(deps, chatId, HELP);
      return "handled";
    default:
      return "ignored";
  }
}

async function refuse(deps: WebhookDeps, chatId: number, who: Who, action: string, target: string | null, why: string): Promise<WebhookOutcome> {
  await reply(deps, chatId, `Refused: ${escapeHtml(why)}.`);
  await record(deps, who, action, target, false, { refused: why });
  return "refused";
}

function userMessage(err: Error): string {
  const m = /^[a-z_]+(?:\.[a-z_]+)+: (.*)$/s.exec(err.message);
  return (err instanceof ActpError ? err.message : m?.[1] ?? err.message).slice(0, 500);
}

async function handleCallback(
  deps: WebhookDeps,
  chat: ChatRow,
  who: Who,
  cb: NonNullable<TelegramUpdate["callback_query"]>,
): Promise<WebhookOutcome> {
  const chatId = Number(chat.chat_id);
  const now = (deps.now ?? Date.now)();
  const v = await verifyCallback(deps.callbackKey, cb.data ?? "", now);
  if (!v.ok) {
    await deps.bot.answerCallbackQuery(cb.id, v.reason === "expired" ? "This button has expired: send /dlq again." : "Refused: this button is not valid.");
    await record(deps, who, "button", null, false, { refused: v.reason });
    return "refused";
  }
  const needsAct = v.action !== "show";
  if (needsAct ? !chat.can_act : !chat.can_read) {
    await deps.bot.answerCallbackQuery(cb.id, "Refused: this chat may not do that.");
    await record(deps, who, v.action, v.target, false, { refused: "chat not allowed" });
    return "refused";
  }
  const fresh = await deps.db.asRole(SERVICE, (tx) => useNonce(tx, v.nonce, who.userId ?? 0));
  if (!fresh) {
    await deps.bot.answerCallbackQuery(cb.id, "Refused: this button was already used.");
    await record(deps, who, v.action, v.target, false, { refused: "nonce already used" });
    return "refused";
  }
  const actor = telegramActor(who);
  try {
    const text = await runAction(deps, v.action, v.target, actor, chat, now);
    await deps.bot.answerCallbackQuery(cb.id, "Done");
    await reply(deps, chatId, text.html, text.keyboard);
    await record(deps, who, v.action, v.target, true, text.result);
  } catch (err) {
    if (!(err instanceof Error)) throw err;
    await deps.bot.answerCallbackQuery(cb.id, userMessage(err).slice(0, 190));
    await record(deps, who, v.action, v.target, false, { error: userMessage(err) });
  }
  return "handled";
}

async function runAction(
  deps: WebhookDeps,
  action: CallbackAction,
  target: string,
  actor: string,
  chat: ChatRow,
  now: number,
): Promise<{ html: string; keyboard?: InlineButton[][]; result: Record<string, unknown> }> {
  const run = <T>(fn: (tx: Queryable) => Promise<T>) => deps.db.asRole(SERVICE, fn);
  switch (action) {
    case "show": {
      const item = await run((tx) => getDlqItem(tx, target));
      const input = JSON.stringify(item.input_data, null, 1) ?? "null";
      const html = [
        `<b>DLQ item</b> ${code(item.id)}`,
        `job ${code(item.original_job_id)} · ${escapeCut(item.job_type, 100)} · ${escapeHtml(item.retry_count)} retries`,
        `enqueued ${escapeHtml(item.enqueued_at)}`,
        `<b>failure</b>: ${escapeCut(item.failure_reason, 800)}`,
        `<b>input</b>:`,
        `<pre>${escapeCut(input, 1500)}</pre>`,
        item.resolution ? `resolved: ${escapeHtml(item.resolution)} by ${escapeHtml(item.reviewed_by)}` : "pending review",
      ].join("\n");
      const keyboard =
        !item.resolution && chat.can_act
          ? [[
              { text: "Replay", callback_data: await signCallback(deps.callbackKey, "replay", item.id, now) },
              { text: "Discard", callback_data: await signCallback(deps.callbackKey, "discard", item.id, now) },
            ]]
          : [];
      return { html, keyboard, result: { dlq_id: item.id } };
    }
    case "replay": {
      const r = await run((tx) => replayDlq(tx, target, actor, "replayed from Telegram"));
      return {
        html: r.already_resolved
          ? `Already resolved (${escapeHtml(r.resolution)} by ${escapeHtml(r.reviewed_by)}).`
          : `Replayed as job ${code(r.replay_job_id)} by ${escapeHtml(actor)}.`,
        result: { ...r },
      };
    }
    case "discard": {
      const r = await run((tx) => discardDlq(tx, target, actor, "discarded from Telegram"));
      return {
        html: r.already_resolved ? `Already discarded by ${escapeHtml(r.reviewed_by)}.` : `Discarded by ${escapeHtml(actor)}.`,
        result: { ...r },
      };
    }
    case "replay_group": {
      const r = await run((tx) => replayDlqGroup(tx, target, { note: "group replayed from Telegram", limit: 500 }, actor));
      return {
        html: `Group ${code(target)}: ${r.replayed} replayed, ${r.failed} failed, ${r.remaining} still pending. By ${escapeHtml(actor)}.`,
        result: { replayed: r.replayed, failed: r.failed, remaining: r.remaining },
      };
    }
  }
}

const MODE_ICON: Record<string, string> = { normal: "🟢", degraded: "🟠", incident: "🔴" };

export function renderStatus(s: Awaited<ReturnType<typeof statusSnapshot>>): string {
  const lines = [`${MODE_ICON[s.mode] ?? ""} <b>mode: ${escapeHtml(s.mode)}</b> since ${escapeHtml(s.changed_at)}`];
  if (s.reason) lines.push(`<i>${escapeCut(s.reason, 300)}</i>`);
  if (s.incident) {
    lines.push(
      `incident ${code(s.incident.id)} (peak ${escapeHtml(s.incident.peak_mode)}), ${s.incident.acknowledged_by ? `acknowledged by ${escapeHtml(s.incident.acknowledged_by)}` : "<b>not acknowledged</b>: /ack"}`,
    );
  }
  lines.push(`firing: ${s.firing.length > 0 ? s.firing.map((f) => escapeHtml(f)).join(", ") : "none"}`);
  lines.push("", "<b>SLA</b>");
  for (const r of s.sla) {
    lines.push(`${escapeCut(r.job_type, 80)}: ${escapeHtml(r.status)} · 1h ${r.total_1h} jobs, burn ${escapeHtml(r.burn_1h ?? "-")}× · budget ${escapeHtml(r.budget_remaining ?? "-")}`);
  }
  lines.push("", `<b>circuits</b>: ${s.circuits.length === 0 ? "all closed" : s.circuits.map((c) => `${escapeCut(c.tool_name, 80)} ${escapeHtml(c.state)}`).join(", ")}`);
  lines.push(`<b>DLQ</b>: ${s.dlq_pending} pending (/dlq)`);
  return lines.join("\n");
}
