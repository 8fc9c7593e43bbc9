// The telegram function and the alert sender against a fake Bot API on loopback: the webhook's
// secret, allowlist, duplicate updates, /status, /dlq, /ack, signed single-use buttons, and the
// outbox drained into few messages that respect the length limit and a 429's retry_after.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { app } from "../../functions/telegram/app.ts";
import { TelegramBot } from "../../shared/telegram/bot-api.ts";
import { signCallback } from "../../shared/telegram/callback.ts";
import { callbackKey, configureTelegram, type TelegramConfig } from "../../shared/telegram/config.ts";
import { drainOutbox } from "../../shared/telegram/outbox.ts";
import { createAgent, deadJob, ensurePgBoss, insertJob, markDead, uniqueSlug } from "../support/dlq-scenarios.ts";
import { startFakeTelegram, type FakeTelegram } from "../support/fake-telegram.ts";
import { functionHarness, type FunctionHarness } from "../support/functions.ts";

let h: FunctionHarness;
let tg: FakeTelegram;
let cfg: TelegramConfig;
let agent: string;
const SECRET = `whsec_${randomUUID().replace(/-/g, "")}`;
const chat = -1_000_000_000 - Math.floor(Math.random() * 1e9);
const readOnlyChat = chat - 1;
let updateId = Math.floor(Math.random() * 1e9);

beforeAll(async () => {
  h = await functionHarness();
  tg = await startFakeTelegram();
  cfg = { token: "123456:TEST-token-abcdef", apiBase: tg.url, webhookSecret: SECRET };
  configureTelegram(cfg);
  await ensurePgBoss(inject("dbUrl"));
  agent = await createAgent(h.db, uniqueSlug("tgfn"));
  // Alerts off for these chats: other test files dead-letter jobs too, and their alerts must not
  // land in this file's chats (the burst test turns alerts on around its own enqueue).
  await h.db.query(
    `insert into public.actp_telegram_chats (chat_id, title, alerts, can_read, can_act) values ($1, 'ops', false, true, true), ($2, 'watchers', false, true, false)`,
    [chat, readOnlyChat],
  );
});
afterAll(async () => {
  configureTelegram(null);
  await tg.close();
  await h.db.end();
});

const webhook = (update: Record<string, unknown>, secret: string | null = SECRET) =>
  app.request("/telegram/webhook", {
    method: "POST",
    headers: { "content-type": "application/json", ...(secret === null ? {} : { "x-telegram-bot-api-secret-token": secret }) },
    body: JSON.stringify(update),
  });

const command = (chatId: number, text: string, from = { id: 4242, username: "alice" }) =>
  webhook({ update_id: ++updateId, message: { message_id: 1, chat: { id: chatId, type: "supergroup" }, from, text } });

const press = (chatId: number, data: string, from = { id: 4242, username: "alice" }) =>
  webhook({ update_id: ++updateId, callback_query: { id: `cb${updateId}`, from, data, message: { message_id: 2, chat: { id: chatId, type: "supergroup" } } } });

const lastText = () => tg.sent().at(-1)?.text ?? "";

describe("the webhook's door", () => {
  it("403 without the secret or with a wrong one (constant-time compare), and nothing recorded", async () => {
    expect((await webhook({ update_id: ++updateId }, null)).status).toBe(403);
    expect((await webhook({ update_id: ++updateId }, `${SECRET}x`)).status).toBe(403);
    const r = await webhook({ update_id: updateId }, "short");
    expect(r.status).toBe(403);
    expect((await r.json()).error.code).toBe("auth.forbidden");
    const { rows } = await h.db.query(`select 1 from public.actp_telegram_updates where update_id = $1`, [updateId]);
    expect(rows).toHaveLength(0);
  });

  it("an unknown chat is ignored and logged; a redelivered update is ignored", async () => {
    tg.reset();
    const stranger = 777_000_000 + Math.floor(Math.random() * 1e6);
    const r = await command(stranger, "/status");
    expect(await r.json()).toEqual({ ok: true, outcome: "ignored_chat" });
    expect(tg.sent()).toHaveLength(0);
    const { rows } = await h.db.query<{ allowed: boolean; kind: string }>(`select allowed, kind from public.actp_telegram_updates where update_id = $1`, [updateId]);
    expect(rows).toEqual([{ allowed: false, kind: "command" }]);
    const again = await webhook({ update_id: updateId, message: { message_id: 1, chat: { id: chat, type: "group" }, text: "/status" } });
    expect(await again.json()).toEqual({ ok: true, outcome: "duplicate" });
    expect(tg.sent()).toHaveLength(0);
  });

  it("a malformed update is a 400", async () => {
    const r = await webhook({ update_id: "nope" });
    expect(r.status).toBe(400);
  });
});

describe("commands", () => {
  it("/status answers the mode, SLA and circuits in HTML", async () => {
    tg.reset();
    expect(await (await command(chat, "/status@actp_bot")).json()).toEqual({ ok: true, outcome: "handled" });
    const [m] = tg.sent();
    expect(m!.chat_id).toBe(chat);
    expect(m!.text).toMatch(/<b>mode: (normal|degraded|incident)<\/b>/);
    expect(m!.text).toContain("<b>SLA</b>");
    expect(tg.calls[0]!.body.parse_mode).toBe("HTML");
  });

  it("/dlq groups pending items by fingerprint, escapes every value, and offers signed buttons under 64 bytes", async () => {
    const jobType = uniqueSlug("tg_dlq");
    const jobId = await insertJob(h.db, { agent, input: { topic: "<b>x</b>" }, status: "running", attempts: 3, jobType });
    await markDead(h.db, jobId, { message: `bad <script>alert(1)</script> & co for ${randomUUID()}`, name: "HttpError", step: "fetch" });
    const jobId2 = await insertJob(h.db, { agent, input: { topic: "y" }, status: "running", attempts: 3, jobType });
    await markDead(h.db, jobId2, { message: `bad <script>alert(1)</script> & co for ${randomUUID()}`, name: "HttpError", step: "fetch" });
    tg.reset();
    await command(chat, "/dlq");
    const m = tg.sent()[0]!;
    expect(m.text).toContain("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co");
    expect(m.text).not.toContain("<script>");
    expect(m.text).toMatch(new RegExp(`${jobType}</b> ×2`));
    const buttons = m.reply_markup!.inline_keyboard.flat();
    expect(buttons.length).toBeGreaterThan(0);
    for (const b of buttons) expect(new TextEncoder().encode(b.callback_data).length).toBeLessThanOrEqual(64);
  });

  it("a chat that may only read gets no act buttons, and /ack is refused there", async () => {
    tg.reset();
    await command(readOnlyChat, "/dlq");
    const buttons = tg.sent()[0]!.reply_markup?.inline_keyboard.flat() ?? [];
    expect(buttons.every((b) => b.text.startsWith("Show"))).toBe(true);
    expect(await (await command(readOnlyChat, "/ack")).json()).toMatchObject({ outcome: "refused" });
  });

  it("/ack with no open incident says so and records the attempt", async () => {
    const { rows } = await h.db.query<{ mode: string }>(`select mode from public.actp_platform_state`);
    if (rows[0]!.mode !== "normal") return; // another file holds an incident open: nothing to assert here
    tg.reset();
    await command(chat, "/ack on it");
    expect(lastText()).toMatch(/no open incident/);
    const { rows: acts } = await h.db.query<{ ok: boolean; telegram_username: string }>(
      `select ok, telegram_username from public.actp_telegram_actions where chat_id = $1 and action = 'ack' order by id desc limit 1`,
      [chat],
    );
    expect(acts).toEqual([{ ok: false, telegram_username: "alice" }]);
  });
});

describe("buttons", () => {
  it("show, then replay as the Telegram user; the same button again is refused", async () => {
    const { dlqId } = await deadJob(h.db, agent, { topic: "llm" }, uniqueSlug("tg_btn"));
    const key = callbackKey(cfg);
    tg.reset();
    expect(await (await press(chat, await signCallback(key, "show", dlqId))).json()).toMatchObject({ outcome: "handled" });
    const shown = tg.sent()[0]!;
    expect(shown.text).toContain(dlqId);
    const [replay, discard] = shown.reply_markup!.inline_keyboard[0]!;
    expect([replay!.text, discard!.text]).toEqual(["Replay", "Discard"]);
    await press(chat, replay!.callback_data, { id: 99, username: "bob" });
    // The bot acts with the service role (recorded as such); the Telegram user it verified is the label.
    const { rows } = await h.db.query<{ resolution: string; reviewed_by: string; reviewer_label: string }>(
      `select resolution, reviewed_by, reviewer_label from public.actp_dlq where id = $1`,
      [dlqId],
    );
    expect(rows[0]).toEqual({ resolution: "replayed", reviewed_by: "service_role", reviewer_label: "telegram:99 (@bob)" });
    tg.reset();
    expect(await (await press(chat, replay!.callback_data, { id: 99, username: "bob" })).json()).toMatchObject({ outcome: "refused" });
    expect(tg.calls.find((c) => c.method === "answerCallbackQuery")!.body.text).toMatch(/already used/);
    const { rows: acts } = await h.db.query<{ action: string; ok: boolean; telegram_user_id: string }>(
      `select action, ok, telegram_user_id::text from public.actp_telegram_actions where target = $1 order by id`,
      [dlqId],
    );
    expect(acts).toEqual([
      { action: "show", ok: true, telegram_user_id: "4242" },
      { action: "replay", ok: true, telegram_user_id: "99" },
      { action: "replay", ok: false, telegram_user_id: "99" },
    ]);
  });

  it("a forged, tampered or expired button is refused and changes nothing", async () => {
    const { dlqId } = await deadJob(h.db, agent, { topic: "llm" }, uniqueSlug("tg_forge"));
    const key = callbackKey(cfg);
    const good = await signCallback(key, "discard", dlqId);
    const tampered = `r${good.slice(1)}`; // discard -> replay, same signature
    const forged = await signCallback("not-the-key-at-all-0123456789", "discard", dlqId);
    const expired = await signCallback(key, "discard", dlqId, Date.now() - 2 * 3600_000);
    for (const data of [tampered, forged, expired, "garbage"]) {
      tg.reset();
      expect(await (await press(chat, data)).json()).toMatchObject({ outcome: "refused" });
      expect(String(tg.calls[0]!.body.text)).toMatch(data === expired ? /expired/ : /not valid/);
    }
    const { rows } = await h.db.query<{ resolution: string | null }>(`select resolution from public.actp_dlq where id = $1`, [dlqId]);
    expect(rows[0]!.resolution).toBeNull();
    // The untouched original still works, from a chat that may act.
    await press(chat, good);
    const { rows: after } = await h.db.query<{ resolution: string | null }>(`select resolution from public.actp_dlq where id = $1`, [dlqId]);
    expect(after[0]!.resolution).toBe("discarded");
  });

  it("a read-only chat's press of an act button is refused", async () => {
    const { dlqId } = await deadJob(h.db, agent, { topic: "llm" }, uniqueSlug("tg_ro"));
    expect(await (await press(readOnlyChat, await signCallback(callbackKey(cfg), "replay", dlqId))).json()).toMatchObject({ outcome: "refused" });
    const { rows } = await h.db.query<{ resolution: string | null }>(`select resolution from public.actp_dlq where id = $1`, [dlqId]);
    expect(rows[0]!.resolution).toBeNull();
  });
});

describe("the alert sender", () => {
  const burstChat = 5_000_000_000 + Math.floor(Math.random() * 1e6);

  it("folds a burst of 500 alerts into a few messages under 4096 characters, escaped", async () => {
    await h.db.query(`insert into public.actp_telegram_chats (chat_id, title, alerts) values ($1, 'burst', true)`, [burstChat]);
    await h.db.query(
      `select public.actp_alert_enqueue('dlq', 'warning', 'dlq:g' || (i % 7), 'Dead-lettered: job <' || (i % 7) || '>', jsonb_build_object('failure_reason', 'boom & <b>' || i))
         from generate_series(1, 500) i`,
    );
    await h.db.query(`update public.actp_telegram_chats set alerts = false where chat_id = $1`, [burstChat]);
    tg.reset();
    const r = await drainOutbox(h.db, new TelegramBot({ token: cfg.token, apiBase: tg.url }), { sleep: async () => {} });
    const mine = tg.sent().filter((m) => m.chat_id === burstChat);
    expect(mine.length).toBeGreaterThanOrEqual(1);
    expect(mine.length).toBeLessThanOrEqual(3);
    for (const m of mine) {
      expect(m.text.length).toBeLessThanOrEqual(4096);
      expect(m.text).not.toMatch(/<b>\d/);
      expect(m.text).toContain("&lt;");
    }
    expect(mine[0]!.text).toMatch(/Dead-lettered: job &lt;\d&gt;<\/b> ×7[12]/);
    expect(r.alerts).toBeGreaterThanOrEqual(500);
    const { rows } = await h.db.query<{ status: string; n: number }>(
      `select status, count(*)::int as n from public.actp_alert_outbox where chat_id = $1 group by status`,
      [burstChat],
    );
    expect(rows).toEqual([{ status: "sent", n: 500 }]);
  });

  it("waits out a 429's retry_after, then sends", async () => {
    await h.db.query(`update public.actp_telegram_chats set alerts = true where chat_id = $1`, [burstChat]);
    await h.db.query(`select public.actp_alert_enqueue('incident', 'critical', 'incident:x', 'Platform mode normal → incident', '{}'::jsonb)`);
    await h.db.query(`update public.actp_telegram_chats set alerts = false where chat_id = $1`, [burstChat]);
    // The previous test sent to this chat under a second ago: 1 message/s per chat holds it back.
    const waits: number[] = [];
    tg.reset();
    tg.failNext("sendMessage", { error_code: 429, description: "Too Many Requests: retry after 1", retry_after: 1 });
    await new Promise((r) => setTimeout(r, 1100));
    const r = await drainOutbox(h.db, new TelegramBot({ token: cfg.token, apiBase: tg.url }), {
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    expect(waits).toContain(1000);
    expect(r.rate_limited).toBe(1);
    expect(tg.sent().filter((m) => m.chat_id === burstChat)).toHaveLength(2); // the 429'd attempt and the retry
    const { rows } = await h.db.query<{ n: number }>(`select count(*)::int as n from public.actp_alert_outbox where chat_id = $1 and status = 'pending'`, [burstChat]);
    expect(rows[0]!.n).toBe(0);
  });

  it("POST /telegram/drain is for the service role", async () => {
    expect((await app.request("/telegram/drain", { method: "POST", headers: h.headers("anon") })).status).toBe(403);
    expect((await app.request("/telegram/drain", { method: "POST", headers: h.headers("service_role") })).status).toBe(200);
  });
});
