// Telegram configuration, from the environment (Supabase secrets, or `actp dev`'s environment), or
// set explicitly by tests and the dev process.
import { z } from "zod";
import { env } from "../env.ts";

export const TelegramConfig = z.object({
  /** The bot's token from @BotFather (ACTP_TELEGRAM_BOT_TOKEN). Never logged. */
  token: z.string().min(10),
  /** ACTP_TELEGRAM_API_BASE; a fake server's URL in tests. */
  apiBase: z.url().default("https://api.telegram.org"),
  /** ACTP_TELEGRAM_WEBHOOK_SECRET: what setWebhook's secret_token was set to. 1-256 of A-Z a-z 0-9 _ -. */
  webhookSecret: z.string().regex(/^[A-Za-z0-9_-]{16,256}$/, "16 to 256 characters of A-Z, a-z, 0-9, _ and -"),
  /** ACTP_TELEGRAM_CALLBACK_SECRET: signs inline buttons; derived from the webhook secret when unset. */
  callbackSecret: z.string().min(16).optional(),
});
export type TelegramConfig = z.infer<typeof TelegramConfig>;

let override: TelegramConfig | null | undefined;

/** Tests and the dev process set it; null means "not configured" whatever the environment says. */
export function configureTelegram(cfg: TelegramConfig | null): void {
  override = cfg === null ? null : TelegramConfig.parse(cfg);
}

export function telegramConfig(): TelegramConfig | null {
  if (override !== undefined) return override;
  const token = env("ACTP_TELEGRAM_BOT_TOKEN");
  const webhookSecret = env("ACTP_TELEGRAM_WEBHOOK_SECRET");
  if (!token || !webhookSecret) return null;
  return TelegramConfig.parse({
    token,
    webhookSecret,
    apiBase: env("ACTP_TELEGRAM_API_BASE") || undefined,
    callbackSecret: env("ACTP_TELEGRAM_CALLBACK_SECRET") || undefined,
  });
}

/** The key that signs buttons: its own secret, else one derived from the webhook secret (never equal to it). */
export function callbackKey(cfg: TelegramConfig): string {
  return cfg.callbackSecret ?? `actp-telegram-callback:${cfg.webhookSecret}`;
}
