// One `actp dev` per data directory, as postmaster.pid does it for PostgreSQL: a file with the
// owner's pid, refused while that process lives, taken over when it is gone (a crash or kill -9).
import { readFile, rename, unlink, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { DevError } from "../dev-errors.ts";

export const LOCK_FILE = "actp.pid";

export interface DataDirLock {
  path: string;
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === "EPERM"; // exists, owned by someone else
  }
}

export async function acquireDataDirLock(dataDir: string): Promise<DataDirLock> {
  const path = resolve(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: "wx" });
      let released = false;
      return {
        path,
        async release() {
          if (released) return;
          released = true;
          // Only our own lock is removed: a takeover by another process must stand.
          const owner = Number.parseInt(await readFile(path, "utf8").catch(() => ""), 10);
          if (owner === process.pid) await unlink(path).catch(() => {});
        },
      };
    } catch (err) {
      if ((err as { code?: string }).code !== "EEXIST") throw err;
    }
    let pid = Number.parseInt(await readFile(path, "utf8").catch(() => ""), 10);
    if (!Number.isInteger(pid)) {
      // Created an instant ago by another process that has not written its pid yet.
      await new Promise((r) => setTimeout(r, 200));
      pid = Number.parseInt(await readFile(path, "utf8").catch(() => ""), 10);
    }
    if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
      throw new DevError(
        "dev.data_dir_in_use",
        `data directory ${dataDir} is in use by actp dev (pid ${pid}): stop that one, or set ACTP_DATA_DIR to another directory`,
      );
    }
    // Stale (its process is gone) or unreadable: move it aside atomically and try again.
    await rename(path, `${path}.stale`).catch(() => {});
  }
  throw new DevError("dev.data_dir_in_use", `could not take the lock ${path}`);
}
