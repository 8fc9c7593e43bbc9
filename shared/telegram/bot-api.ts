// A small client of the Telegram Bot API (https://core.telegram.org/bots/api): POST
// <base>/bot<token>/<method> with a JSON body. The base URL is configurable so tests run against a
// fake server on loopback. A 429 carries parameters.retry_after (seconds): the caller waits that long.
import { ActpError } from "../errors.ts";

export interface InlineButton {
  text: string;
  callback_data: string;
}

export interface SendMessageParams {
  chat_id: number;
  text: string;
  parse_mode?: "HTML";
  reply_markup?: { inline_keyboard: InlineButton[][] };
  link_preview_options?: { is_disabled: boolean };
}

export class TelegramApiError extends ActpError {
  constructor(
    readonly errorCode: number,
    readonly description: string,
    readonly retryAfter: number | null,
  ) {
    super(errorCode === 429 ? "telegram.rate_limited" : "telegram.api_error", `Telegram Bot API: ${errorCode} ${description}`);
  }
}

export interface TelegramBotOptions {
  token: string;
  /** Default https://api.telegram.org (ACTP_TELEGRAM_API_BASE). */
  apiBase?: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export class TelegramBot {
  readonly #token: string;
  readonly #base: string;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  constructor(o: TelegramBotOptions) {
    this.#token = o.token;
    this.#base = (o.apiBase ?? "https://api.telegram.org").replace(/\/+$/, "");
    this.#fetch = o.fetch ?? fetch;
    this.#timeoutMs = o.timeoutMs ?? 10_000;
  }

  async call<T>(method: string, params: object): Promise<T> {
    let res: Response;
    try {
      res = await this.#fetch(`${this.#base}/bot${this.#token}/${method}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(params),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      // Never echo the URL: it holds the token.
      throw new TelegramApiError(0, `request failed: ${(err as Error).name}`, null);
    }
    const body = (await res.json().catch(() => null)) as
      | { ok: boolean; result?: T; error_code?: number; description?: string; parameters?: { retry_after?: number } }
      | null;
    if (!body || !body.ok) {
      const retryAfter = body?.parameters?.retry_after;
      throw new TelegramApiError(body?.error_code ?? res.status, body?.description ?? res.statusText, typeof retryAfter === "number" ? retryAfter : null);
    }
    return body.result as T;
  }

  sendMessage(p: SendMessageParams): Promise<{ message_id: number }> {
    return this.call("sendMessage", { parse_mode: "HTML", link_preview_options: { is_disabled: true }, ...p });
  }

  answerCallbackQuery(id: string, text?: string): Promise<boolean> {
    return this.call("answerCallbackQuery", { callback_query_id: id, text: text?.slice(0, 200) });
  }
}
