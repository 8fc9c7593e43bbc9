// Every request the dashboard makes: a function's JSON API with the operator's own JWT. Errors keep
// the platform's structured body, so a page can show exactly what the server said.
import { config } from "./config.ts";
import { currentSession } from "./auth.ts";

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export async function api<T>(fn: string, path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const c = config();
  const session = await currentSession();
  const headers: Record<string, string> = { apikey: c.anonKey };
  if (session) headers.authorization = `Bearer ${session.token}`;
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${c.apiUrl}/functions/v1/${fn}${path}`, {
    method: init.method ?? "GET",
    headers,
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const err = (body as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(res.status, err?.code ?? `http.${res.status}`, err?.message ?? (text.slice(0, 200) || res.statusText));
  }
  return body as T;
}

export const qs = (params: Record<string, string | number | undefined | null>): string => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : "";
};
