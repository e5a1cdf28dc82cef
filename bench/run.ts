/**
 * @module `npm run bench [-- <case>…] [--quick]`: runs the benchmark cases in order, writes
 * bench/results/<case>.json for each, and regenerates docs/benchmarks.md from every result file.
 */
import { performance } from "node:perf_hooks";
import { resolve } from "node:path";
import { DEFAULT_OUTPUT, machineInfo, outputIn, versions, writeReport, writeResult } from "./lib/report.ts";
import { startStack, type Stack } from "./lib/stack.ts";
import type { BenchCase, BenchContext } from "./lib/types.ts";

/** Loaded on demand, so `npm run bench -- eviction` never imports what it does not run. */
const CASES: ReadonlyArray<{ name: string; load: () => Promise<BenchCase> }> = [
  { name: "edge", load: async () => (await import("./cases/edge.ts")).edgeCase },
  { name: "round-trips", load: async () => (await import("./cases/round-trips.ts")).roundTripsCase },
  { name: "stampede", load: async () => (await import("./cases/stampede.ts")).stampedeCase },
  { name: "eviction", load: async () => (await import("./cases/eviction.ts")).evictionCase },
  { name: "invalidation", load: async () => (await import("./cases/invalidation.ts")).invalidationCase },
  { name: "peer", load: async () => (await import("./cases/peer.ts")).peerCase },
];
const ORDER = CASES.map((c) => c.name);

function usage(problem?: string): never {
  if (problem) console.error(`bench: ${problem}`);
  console.error(`usage: npm run bench [-- [--quick] [--out <dir>] [case …]]   cases: ${ORDER.join(", ")}`);
  process.exit(2);
}

function log(line: string): void {
  process.stdout.write(`[bench] ${line}\n`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes("--quick");
  const outAt = args.indexOf("--out");
  const outDir = outAt === -1 ? undefined : args[outAt + 1];
  if (outAt !== -1 && (outDir === undefined || outDir.startsWith("-"))) usage("--out needs a directory");
  // --out keeps smoke runs (CI) from overwriting the committed results and report.
  const out = outDir === undefined ? DEFAULT_OUTPUT : outputIn(resolve(outDir));
  const names = args.filter((a, i) => a !== "--quick" && a !== "--out" && !(outAt !== -1 && i === outAt + 1));
  for (const a of names) {
    if (a.startsWith("-")) usage(`unknown option ${a}`);
    if (!ORDER.includes(a)) usage(`unknown case ${a}`);
  }
  const selected = names.length === 0 ? CASES : CASES.filter((c) => names.includes(c.name));
  const command = ["npm run bench", ...(args.length > 0 ? ["--", ...args] : [])].join(" ");

  let stack: Promise<Stack> | undefined;
  const ctx: BenchContext = {
    quick,
    stack: () => (stack ??= startStack(log)),
    log,
  };
  const started = performance.now();
  let failed = 0;
  try {
    for (const entry of selected) {
      const machine = machineInfo();
      const t0 = performance.now();
      try {
        const c = await entry.load();
        log(`── ${c.name}: ${c.title}${quick ? " (quick)" : ""}`);
        const report = await c.run(ctx);
        const file = writeResult(out, {
          case: c.name,
          title: c.title,
          date: new Date().toISOString(),
          quick,
          command,
          durationSeconds: (performance.now() - t0) / 1000,
          machine,
          versions: versions(),
          ...report,
        });
        for (const t of report.targets) log(`   ${t.met ? "met " : "MISS"} ${t.target}: ${t.measured}`);
        log(`   ${c.name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s → ${file}`);
      } catch (error) {
        failed++;
        log(`   ${entry.name} FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      }
    }
  } finally {
    if (stack) await (await stack.catch(() => undefined))?.stop();
  }
  writeReport(out, ORDER);
  log(`report → ${out.reportPath} (${((performance.now() - started) / 1000).toFixed(0)} s in all)`);
  // Handles (sockets, timers) of the services may linger; the run is over either way.
  process.exit(failed > 0 ? 1 : 0);
}

main().catch((error: unknown) => {
  log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
