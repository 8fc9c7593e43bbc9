// Reads a vault folder: every .md file under it (recursively; dot-folders and node_modules skipped),
// chunked by heading, with paths relative to the folder in POSIX form.
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, join, relative, resolve, sep } from "node:path";
import { ActpError } from "../../shared/errors.ts";
import type { VaultFile } from "../../shared/memory/contracts.ts";
import { chunkMarkdown, DEFAULT_MAX_CHUNK_CHARS } from "../../shared/memory/markdown.ts";

export async function readVault(folder: string, maxChars = DEFAULT_MAX_CHUNK_CHARS): Promise<VaultFile[]> {
  const root = resolve(folder);
  const st = await stat(root).catch(() => null);
  if (!st) throw new ActpError("memory.folder_not_found", `no folder ${root}: nothing was synced and nothing deleted`);
  if (!st.isDirectory()) throw new ActpError("memory.not_a_folder", `${root} is not a folder: nothing was synced and nothing deleted`);
  const files: VaultFile[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith(".") || e.name === "node_modules") continue;
      const full = join(dir, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile() && e.name.toLowerCase().endsWith(".md")) {
        const path = relative(root, full).split(sep).join("/");
        files.push({ path, chunks: chunkMarkdown(await readFile(full, "utf8"), maxChars) });
      }
    }
  };
  await walk(root);
  return files;
}

/** The default vault name: the folder's own name, made a valid vault name. */
export function defaultVaultName(folder: string): string {
  const name = basename(resolve(folder)).replace(/[^A-Za-z0-9_.-]/g, "-").replace(/^[^A-Za-z0-9]+/, "").slice(0, 63);
  return name || "vault";
}
