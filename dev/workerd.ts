/**
 * @module The worker as a real HTTP server in workerd (through Miniflare), bundled by wrangler as
 * for a deploy. For what the Workers test pool cannot show: separate, concurrent HTTP requests to
 * one isolate (the benchmarks, and the regression test for requests that share work).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { Miniflare, Response as MiniflareResponse } from "miniflare";

const root = resolve(import.meta.dirname, "..");
/** As in wrangler.toml (Miniflare 4.20260730's workerd rejects dates after 2026-08-06). */
const COMPATIBILITY_DATE = "2026-08-01";
const COMPATIBILITY_FLAGS = ["nodejs_compat"];

export interface WorkerdWorker {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  /** The colo's Cache API (`caches.default`) as the worker sees it, reachable from Node. */
  cache(): Promise<Cache>;
  stop(): Promise<void>;
}

export interface WorkerdOptions {
  /** Entry module, relative to the repo (default: the production entry, edge/index.ts). */
  entry?: string;
  bindings: Record<string, string>;
  /** Where the bundle goes (default .bench/worker-<entry name>). */
  outdir?: string;
}

export async function startWorkerd(opts: WorkerdOptions): Promise<WorkerdWorker> {
  const entry = opts.entry ?? "edge/index.ts";
  const name = basename(entry).replace(/\.ts$/, "");
  const outdir = opts.outdir ?? join(root, ".bench", `worker-${name}`);
  mkdirSync(outdir, { recursive: true });
  // wrangler bundles exactly as for a deploy (same aliases and nodejs_compat polyfills), offline.
  const built = spawnSync(join(root, "node_modules", ".bin", "wrangler"), ["deploy", "--dry-run", "--outdir", outdir, entry], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", XDG_CONFIG_HOME: join(root, ".bench", "xdg") },
    timeout: 120_000,
  });
  if (built.status !== 0) throw new Error(`wrangler could not bundle ${entry}:\n${built.stderr}\n${built.stdout}`);
  const mf = new Miniflare({
    modules: true,
    scriptPath: join(outdir, `${name}.js`),
    compatibilityDate: COMPATIBILITY_DATE,
    compatibilityFlags: COMPATIBILITY_FLAGS,
    bindings: opts.bindings,
    host: "127.0.0.1",
    port: 0,
  });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  return {
    url,
    async cache() {
      const inner = (await mf.getCaches()).default;
      // The proxy only carries Miniflare's own Response class across to workerd.
      const cache: Pick<Cache, "match" | "put" | "delete"> = {
        match: async (request) => (await inner.match(String(request))) as unknown as Response | undefined,
        put: async (request, response) => {
          const copy = new MiniflareResponse(await response.arrayBuffer(), { status: response.status, headers: [...response.headers] });
          await inner.put(String(request), copy);
        },
        delete: (request) => inner.delete(String(request)),
      };
      return cache as Cache;
    },
    stop: () => mf.dispose(),
  };
}
