// telegram: the bot's webhook and the alert sender (issue 12 §3).
//   POST /webhook   Telegram calls it (deployed with verify_jwt = false: Telegram sends no JWT). The
//                   X-Telegram-Bot-Api-Secret-Token header must equal ACTP_TELEGRAM_WEBHOOK_SECRET
//                   (constant-time compare), else 403. Always 200 otherwise, so Telegram does not
//                   redeliver what was handled or deliberately ignored.
//   POST /drain     service role: sends what the alert outbox holds (run every few seconds by
//                   `actp dev`, and by a pg_net schedule on Supabase; see README).
//   GET/PUT/DELETE /chats[/:chat_id]   the allowlist (reads: readers; writes: service role).
import type { MiddlewareHandler } from "hono";
import { createFunctionApp, type FnEnv } from "../_shared/http.ts";
import { route } from "../_shared/routes.ts";
import { runtime } from "../_shared/runtime.ts";
import { ActpError, forbidden, notFound } from "../../shared/errors.ts";
import { TelegramBot } from "../../shared/telegram/bot-api.ts";
import { constantTimeEqual } from "../../shared/telegram/callback.ts";
import { callbackKey, telegramConfig, type TelegramConfig } from "../../shared/telegram/config.ts";
import { ChatId, ChatInput, TelegramUpdate } from "../../shared/telegram/contracts.ts";
import { drainOutbox } from "../../shared/telegram/outbox.ts";
import { deleteChat, listChats, upsertChat } from "../../shared/telegram/queries.ts";
import { handleUpdate } from "../../shared/telegram/webhook.ts";

export const app = createFunctionApp("telegram", {
  title: "actp telegram",
  description: "The Telegram bot's webhook (/status, /dlq, /ack and signed buttons), the alert sender, and the chat allowlist.",
});

function requireConfig(): TelegramConfig {
  const cfg = telegramConfig();
  if (!cfg) throw new ActpError("telegram.not_configured", "set ACTP_TELEGRAM_BOT_TOKEN and ACTP_TELEGRAM_WEBHOOK_SECRET");
  return cfg;
}

const botOf = (cfg: TelegramConfig) => new TelegramBot({ token: cfg.token, apiBase: cfg.apiBase });

/** Telegram's own proof: the secret_token given to setWebhook, compared in constant time. */
const requireTelegramSecret: MiddlewareHandler<FnEnv> = async (c, next) => {
  const cfg = telegramConfig();
  const presented = c.req.header("x-telegram-bot-api-secret-token") ?? "";
  // Without a configured secret nothing can be verified: refused like a wrong secret.
  if (!cfg || !constantTimeEqual(presented, cfg.webhookSecret)) throw forbidden("wrong or missing X-Telegram-Bot-Api-Secret-Token");
  await next();
};

route(
  app,
  {
    method: "post",
    path: "/webhook",
    summary: "Telegram's updates: commands and button presses from allowlisted chats",
    description: "Needs the X-Telegram-Bot-Api-Secret-Token header (403 otherwise). A seen update_id, an unknown chat or an unknown command is answered 200 and ignored (and logged).",
    access: "public",
    use: [requireTelegramSecret],
    body: TelegramUpdate,
    invalid: { body: "telegram.invalid_update" },
    responses: { 200: { description: "{ ok, outcome: handled | refused | ignored | ignored_chat | duplicate }" } },
  },
  async (c, { body }) => {
    const cfg = requireConfig();
    const outcome = await handleUpdate({ db: runtime().db, bot: botOf(cfg), callbackKey: callbackKey(cfg) }, body);
    return c.json({ ok: true, outcome });
  },
);

route(
  app,
  { method: "post", path: "/drain", summary: "Send the pending alerts: grouped per chat, split at 4096 characters, within Telegram's limits", access: "service_role", responses: { 200: { description: "{ chats, alerts, messages, rate_limited, failed }" } }, errors: ["telegram.not_configured"] },
  async (c) => c.json(await drainOutbox(runtime().db, botOf(requireConfig()))),
);

route(
  app,
  { method: "get", path: "/chats", summary: "The allowlist", access: "reader", responses: { 200: { description: "{ chats }" } } },
  async (c) => c.json({ chats: await runtime().db.asRole(c.get("claims"), (tx) => listChats(tx)) }),
);

route(
  app,
  {
    method: "put",
    path: "/chats/:chat_id",
    summary: "Put a chat on the allowlist (alerts, may read, may act)",
    access: "service_role",
    params: { chat_id: ChatId },
    body: ChatInput,
    invalid: { params: "telegram.invalid_chat" },
    responses: { 200: { description: "{ chat }" } },
  },
  async (c, { params, body }) => c.json({ chat: await runtime().db.asRole(c.get("claims"), (tx) => upsertChat(tx, params.chat_id, body)) }),
);

route(
  app,
  {
    method: "delete",
    path: "/chats/:chat_id",
    summary: "Take a chat off the allowlist",
    access: "service_role",
    params: { chat_id: ChatId },
    invalid: { params: "telegram.invalid_chat" },
    responses: { 200: { description: "{ deleted }" } },
    errors: ["telegram.not_found"],
  },
  async (c, { params }) => {
    const deleted = await runtime().db.asRole(c.get("claims"), (tx) => deleteChat(tx, params.chat_id));
    if (!deleted) throw notFound("telegram.not_found", `chat ${params.chat_id} is not on the allowlist`);
    return c.json({ deleted: String(params.chat_id) });
  },
);
