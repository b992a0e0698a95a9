// Idle RSS read at the same settled moment in every process compared: after V8's memory reducer has
// run. An idle Node process keeps its start-up garbage (and the bytecode of code it ran once) until the
// reducer's "Mark-Compact (reduce)" GCs, ~8 s after the last burst of work; they take 3-6 MiB off RSS.
// Reading at a fixed time after start compares one process before its reducer ran with another after.
// The processes run with --trace-gc (it only prints), and RSS is read once no reducing GC has come for
// QUIET_MS after at least one did, or at the cap, which the caller is told about.
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

/** Added to the V8 flags of every process measured: reports each GC on stdout. */
export const TRACE_GC_FLAG = "--trace-gc";
const QUIET_MS = 3000;
const CAP_MS = 40_000;

export interface SettledRss {
  mib: number;
  /** Whether a memory-reducing GC was seen before the reading (false: read at the cap). */
  reduced: boolean;
  /** Milliseconds from `ready` to the reading. */
  afterMs: number;
}

export function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
}

/**
 * Watches `child`'s stdout (its --trace-gc lines; call at once after spawning it) and resolves with its
 * RSS once settled, counting from when `ready` resolves.
 */
export async function settledRss(child: ChildProcess, ready: Promise<unknown>): Promise<SettledRss> {
  let lastReduce = 0;
  const lines = createInterface({ input: child.stdout! });
  lines.on("line", (line) => {
    if (line.includes("Mark-Compact (reduce)")) lastReduce = Date.now();
  });
  await ready;
  const start = Date.now();
  lastReduce = 0;
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const now = Date.now();
      const reduced = lastReduce > 0;
      if ((reduced && now - lastReduce >= QUIET_MS) || now - start >= CAP_MS) {
        clearInterval(timer);
        lines.close();
        child.stdout!.resume(); // keep draining: a full pipe would block the process's GC tracing
        try {
          resolve({ mib: rssMiB(child.pid!), reduced, afterMs: now - start });
        } catch (err) {
          reject(err as Error);
        }
      }
    }, 250);
    child.once("exit", (code) => {
      clearInterval(timer);
      reject(new Error(`process exited (${code}) before its RSS settled`));
    });
  });
}

/** The median of several settled readings, and every reading. */
export interface MedianRss extends SettledRss {
  all: number[];
}

/** Copies of each process measured side by side: idle RSS differs by 1-2 MiB from one process to the next. */
export const RSS_COPIES = 3;

/** Runs `copies` measurements at once and returns the median (by RSS) with every reading. */
export async function medianSettledRss(measure: (copy: number) => Promise<SettledRss>, copies = RSS_COPIES): Promise<MedianRss> {
  const readings = (await Promise.all(Array.from({ length: copies }, (_, i) => measure(i)))).sort((a, b) => a.mib - b.mib);
  return { ...readings[Math.floor(readings.length / 2)]!, reduced: readings.every((r) => r.reduced), all: readings.map((r) => r.mib) };
}

/** How a reading was taken, for a bench's notes. */
export function describeRss(r: MedianRss, after: string): string {
  const cap = r.reduced ? "" : " (some read at the cap: no reducing GC seen)";
  return `median of ${r.all.map((m) => m.toFixed(1)).join(", ")} MiB, ${(r.afterMs / 1000).toFixed(1)} s after ${after}${cap}`;
}
