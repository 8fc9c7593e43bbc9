// `actp dev`'s alert sender: drains the outbox every few seconds while Telegram is configured
// (ACTP_TELEGRAM_BOT_TOKEN, ACTP_TELEGRAM_WEBHOOK_SECRET), and puts ACTP_TELEGRAM_CHAT_IDS on the
// allowlist ("123,-100456:act": ":act" lets that chat replay, discard and /ack). On Supabase the
// same drain runs from a pg_net schedule that POSTs to the telegram function's /drain (README).
import type { Database } from "../../shared/db/types.ts";
import { env } from "../../shared/env.ts";
import { TelegramBot } from "../../shared/telegram/bot-api.ts";
import { telegramConfig } from "../../shared/telegram/config.ts";
import { drainOutbox } from "../../shared/telegram/outbox.ts";
import { upsertChat } from "../../shared/telegram/queries.ts";

export interface SenderLoop {
  stop(): Promise<void>;
}

export function parseChatIds(spec: string): Array<{ chatId: number; canAct: boolean }> {
  return spec
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const m = /^(-?\d{1,20})(:act)?$/.exec(s);
      if (!m) throw new Error(`ACTP_TELEGRAM_CHAT_IDS: "${s}" is not a chat id (optionally followed by :act)`);
      return { chatId: Number(m[1]), canAct: m[2] === ":act" };
    });
}

export async function startTelegramSender(db: Database, o: { intervalMs?: number; log?: (l: string) => void } = {}): Promise<SenderLoop | null> {
  const cfg = telegramConfig();
  if (!cfg) return null;
  const log = o.log ?? (() => {});
  for (const c of parseChatIds(env("ACTP_TELEGRAM_CHAT_IDS") ?? "")) {
    await upsertChat(db, c.chatId, { title: "", alerts: true, can_read: true, can_act: c.canAct });
  }
  const bot = new TelegramBot({ token: cfg.token, apiBase: cfg.apiBase });
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const tick = () => {
    running = drainOutbox(db, bot)
      .then((r) => {
        if (r.messages > 0 || r.failed > 0) log(`telegram: ${r.alerts} alerts in ${r.messages} messages to ${r.chats} chats${r.failed ? `, ${r.failed} failed` : ""}`);
      })
      .catch((err: Error) => log(`telegram: drain failed: ${err.message}`));
  };
  const timer = setInterval(() => {
    if (!stopped) tick();
  }, o.intervalMs ?? 3000);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
