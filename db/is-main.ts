/**
 * @module "Was this file started as `node file.ts`?" for CLI entry points that are also imported
 * as libraries (db/migrate.ts, db/seed.ts).
 *
 * `import.meta.main` would say so, but only from Node 22.18 / 24.2 on; on older Node it is
 * undefined, and `npm run db:migrate` would exit 0 having done nothing. Comparing the script
 * Node was asked to run with this module's own file works on every version.
 */
import { realpathSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * True when `moduleUrl` (pass `import.meta.url`) is the script in `argv1` (default
 * `process.argv[1]`). Both sides go through realpath, so a symlinked checkout or a relative
 * `node ./db/../db/migrate.ts` still matches.
 */
export function isMainModule(moduleUrl: string, argv1: string | undefined = process.argv[1]): boolean {
  if (!argv1 || !moduleUrl.startsWith("file:")) return false;
  return canonical(path.resolve(argv1)) === canonical(fileURLToPath(moduleUrl));
}

function canonical(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    // A path that does not exist cannot be the running script; compare it as written.
    return file;
  }
}
