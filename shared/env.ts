// Reads an environment variable under Deno or Node without importing either runtime's modules.
type DenoLike = { env: { get(key: string): string | undefined } };
type ProcessLike = { env: Record<string, string | undefined> };

export function env(key: string): string | undefined {
  const g = globalThis as unknown as { Deno?: DenoLike; process?: ProcessLike };
  if (g.Deno) {
    try {
      return g.Deno.env.get(key);
    } catch {
      return undefined; // no --allow-env: treat as unset
    }
  }
  return g.process?.env[key];
}
