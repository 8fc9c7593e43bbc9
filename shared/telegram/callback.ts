// Inline-button callback data that cannot be forged or replayed, within Telegram's 64-byte limit:
//   <action><target>.<expiry>.<nonce>.<signature>
// action: one letter; target: 16 (a UUID) or 8 (a fingerprint) bytes, base64url; expiry: unix
// seconds, base36; nonce: 6 random bytes, base64url (spent once, in actp_telegram_nonces);
// signature: HMAC-SHA256 of everything before it, first 12 bytes, base64url. 56 bytes at most.
// Web Crypto only, so Deno and Node run the same code.

export const CALLBACK_LIMIT = 64;
export const BUTTON_TTL_SECONDS = 3600;

export const CallbackActions = {
  s: "show",
  r: "replay",
  d: "discard",
  g: "replay_group",
} as const;
export type CallbackLetter = keyof typeof CallbackActions;
export type CallbackAction = (typeof CallbackActions)[CallbackLetter];

const LETTER_OF: Record<CallbackAction, CallbackLetter> = { show: "s", replay: "r", discard: "d", replay_group: "g" };

function b64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromB64url(s: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) return null;
  try {
    const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (s.length % 4)) % 4));
    return Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const fromHex = (h: string) => Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16));

function targetBytes(action: CallbackAction, target: string): Uint8Array {
  if (action === "replay_group") {
    if (!/^[0-9a-f]{16}$/.test(target)) throw new Error("a group target is a 16-hex-digit fingerprint");
    return fromHex(target);
  }
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(target)) throw new Error("an item target is a UUID");
  return fromHex(target.replace(/-/g, "").toLowerCase());
}

function targetString(action: CallbackAction, bytes: Uint8Array): string | null {
  if (action === "replay_group") return bytes.length === 8 ? hex(bytes) : null;
  if (bytes.length !== 16) return null;
  const h = hex(bytes);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

async function hmac(secret: string, data: string): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(data)));
}

/** Compares in time that depends on the lengths only, never on where the first difference is. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

export async function signCallback(secret: string, action: CallbackAction, target: string, now = Date.now(), ttlSeconds = BUTTON_TTL_SECONDS): Promise<string> {
  const nonce = b64url(crypto.getRandomValues(new Uint8Array(6)));
  const body = `${LETTER_OF[action]}${b64url(targetBytes(action, target))}.${Math.floor(now / 1000 + ttlSeconds).toString(36)}.${nonce}`;
  const data = `${body}.${b64url((await hmac(secret, body)).slice(0, 12))}`;
  if (new TextEncoder().encode(data).length > CALLBACK_LIMIT) throw new Error("callback data over 64 bytes");
  return data;
}

export type VerifiedCallback =
  | { ok: true; action: CallbackAction; target: string; nonce: string; expiresAt: number }
  | { ok: false; reason: "malformed" | "bad_signature" | "expired" };

/** Checks shape, signature (constant time) and expiry; the nonce's single use is the caller's to spend. */
export async function verifyCallback(secret: string, data: string, now = Date.now()): Promise<VerifiedCallback> {
  const m = /^([srdg])([A-Za-z0-9_-]{11,22})\.([0-9a-z]{1,10})\.([A-Za-z0-9_-]{8})\.([A-Za-z0-9_-]{16})$/.exec(data);
  if (!m) return { ok: false, reason: "malformed" };
  const [, letter, t, exp, nonce, sig] = m as unknown as [string, CallbackLetter, string, string, string, string];
  const body = `${letter}${t}.${exp}.${nonce}`;
  if (!constantTimeEqual(sig, b64url((await hmac(secret, body)).slice(0, 12)))) return { ok: false, reason: "bad_signature" };
  const action = CallbackActions[letter];
  const bytes = fromB64url(t);
  const target = bytes ? targetString(action, bytes) : null;
  if (!target) return { ok: false, reason: "malformed" };
  const expiresAt = parseInt(exp, 36) * 1000;
  if (!(expiresAt > now)) return { ok: false, reason: "expired" };
  return { ok: true, action, target, nonce, expiresAt };
}
