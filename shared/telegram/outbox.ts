// The alert sender: drains actp_alert_outbox into Telegram. Per chat, everything pending is folded
// into one digest (render.ts) and split at the 4096-character limit; the claim (actp_telegram_claim)
// only hands out a chat whose limits allow a message now (1/s per chat, 20/min per group) and locks
// it, so several senders (the dev loop, a pg_net schedule) never double-send. A 429 is waited out
// (retry_after) when short, else the chat is deferred by it in the database.
import type { Database, Queryable } from "../db/types.ts";
import { TelegramApiError, type TelegramBot } from "./bot-api.ts";
import { splitMessage } from "./html.ts";
import { renderDigest, type OutboxAlert } from "./render.ts";

export interface DrainOptions {
  /** Chats handled per call. */
  maxChats?: number;
  /** A 429 asking to wait at most this long is waited out in place; longer ones defer the chat. */
  maxInlineWaitMs?: number;
  /** Messages per chat per call (a digest longer than this is cut with a pointer to /status). */
  maxMessagesPerChat?: number;
  sleep?: (ms: number) => Promise<void>;
}

export interface DrainReport {
  chats: number;
  alerts: number;
  messages: number;
  rate_limited: number;
  failed: number;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Claim {
  chat_id: string;
  is_group: boolean;
  outbox_ids: string[];
  alerts: OutboxAlert[];
}

async function claimChat(tx: Queryable): Promise<Claim | null> {
  const { rows } = await tx.query<Claim>(`select chat_id::text, is_group, outbox_ids::text[], alerts from public.actp_telegram_claim(1000)`);
  return rows[0] ?? null;
}

export async function drainOutbox(db: Database, bot: TelegramBot, o: DrainOptions = {}): Promise<DrainReport> {
  const report: DrainReport = { chats: 0, alerts: 0, messages: 0, rate_limited: 0, failed: 0 };
  const sleep = o.sleep ?? defaultSleep;
  const maxChats = o.maxChats ?? 50;
  const maxMessages = o.maxMessagesPerChat ?? 3;
  for (let i = 0; i < maxChats; i++) {
    const handled = await db.transaction(async (tx) => {
      const claim = await claimChat(tx);
      if (!claim) return false;
      report.chats += 1;
      const chatId = Number(claim.chat_id);
      const chunks = splitMessage(renderDigest(claim.alerts));
      const toSend = chunks.length > maxMessages ? [...chunks.slice(0, maxMessages - 1), `${chunks[maxMessages - 1]!}\n…(cut: see /status and /dlq)`] : chunks;
      for (let k = 0; k < toSend.length; k++) {
        // 1 message per second per chat, between the parts of one digest too.
        if (k > 0) await sleep(1000);
        const last = k === toSend.length - 1;
        for (let attempt = 0; ; attempt++) {
          try {
            const msg = await bot.sendMessage({ chat_id: chatId, text: toSend[k]! });
            report.messages += 1;
            await tx.query(`select public.actp_telegram_record_send($1, $2, $3::bigint[], $4)`, [
              claim.chat_id,
              msg.message_id,
              last ? claim.outbox_ids : [],
              last ? claim.alerts.length : 0,
            ]);
            break;
          } catch (err) {
            const e = err instanceof TelegramApiError ? err : new TelegramApiError(0, (err as Error).message, null);
            if (e.errorCode === 429) report.rate_limited += 1;
            if (e.errorCode === 429 && e.retryAfter !== null && e.retryAfter * 1000 <= (o.maxInlineWaitMs ?? 5000) && attempt < 3) {
              await sleep(e.retryAfter * 1000);
              continue;
            }
            report.failed += 1;
            await tx.query(`select public.actp_telegram_record_failure($1, $2::bigint[], $3, $4)`, [
              claim.chat_id,
              claim.outbox_ids,
              e.message,
              e.errorCode === 429 ? (e.retryAfter ?? 5) : null,
            ]);
            return true;
          }
        }
      }
      report.alerts += claim.alerts.length;
      return true;
    });
    if (!handled) break;
  }
  return report;
}
