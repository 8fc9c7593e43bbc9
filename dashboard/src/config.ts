// Where the dashboard finds actp: written into config.js by `actp dev` (same origin) or by
// `actp dashboard build --api-url ... --anon-key ...` for a static deployment.
export interface DashboardConfig {
  /** The API base: `http://127.0.0.1:54321` locally, `https://<ref>.supabase.co` on Supabase. */
  apiUrl: string;
  anonKey: string;
  /** "local": sign in with a token from `actp operators token`; "supabase": Supabase Auth. */
  auth: "local" | "supabase";
}

declare global {
  interface Window {
    ACTP_CONFIG?: Partial<DashboardConfig>;
  }
}

export function config(): DashboardConfig {
  const c = window.ACTP_CONFIG ?? {};
  return {
    apiUrl: (c.apiUrl || window.location.origin).replace(/\/+$/, ""),
    anonKey: c.anonKey ?? "",
    auth: c.auth === "supabase" ? "supabase" : "local",
  };
}
