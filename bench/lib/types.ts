/** @module What a benchmark case receives and returns; the runner turns returns into JSON and Markdown. */
import type { Stack } from "./stack.ts";

export type Cell = string | number;

export interface Table {
  title: string;
  columns: string[];
  rows: Cell[][];
  /** One or two sentences under the table: what the baseline is, how to read the ratios. */
  note?: string;
}

/** A target from the issue, checked against what this run measured. */
export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean;
  /** Where missed (or met only in part): why, and what would reach it. */
  note?: string;
}

export interface CaseReport {
  /** What is measured and against which baseline, in a few sentences. */
  summary: string;
  tables: Table[];
  targets: TargetCheck[];
  /** Raw figures for the JSON file (numbers, not formatted strings). */
  figures: Record<string, unknown>;
}

export interface BenchContext {
  /** Smoke run: fewer requests, sizes and repetitions; every code path still runs. */
  quick: boolean;
  /** The services, started on first use and shared by the cases of one run. */
  stack(): Promise<Stack>;
  log(line: string): void;
}

export interface BenchCase {
  name: string;
  title: string;
  run(ctx: BenchContext): Promise<CaseReport>;
}
