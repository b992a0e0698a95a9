// The demo's child processes: spawned, watched for readiness, and always stopped (SIGTERM, then SIGKILL
// after a grace period), so no path out of the demo leaves one running.
import { spawn, type ChildProcess } from "node:child_process";

export interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Resolves with the first match of `pattern` in stdout or stderr; rejects if the child exits first. */
  waitFor(pattern: RegExp, stream?: "stdout" | "stderr"): Promise<RegExpExecArray>;
  /** Rejects when the child exits, naming it and its last stderr lines: race it with a readiness wait. */
  failOnExit(): Promise<never>;
  /** SIGTERM, SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

const lastLines = (s: string, n = 5) => s.trim().split("\n").slice(-n).join("\n");

export class ChildSet {
  private readonly children = new Set<Child>();

  spawn(name: string, args: string[], env?: NodeJS.ProcessEnv): Child {
    const proc = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env });
    const out = { stdout: "", stderr: "" };
    const listeners = new Set<() => void>();
    for (const stream of ["stdout", "stderr"] as const) {
      proc[stream]!.on("data", (b: Buffer) => {
        out[stream] += b.toString();
        for (const l of [...listeners]) l();
      });
    }
    const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
    const exitedEarly = (code: number | null) => new Error(`${name} exited (code ${code}) before it was ready${out.stderr.trim() ? `:\n${lastLines(out.stderr)}` : ""}`);
    // A spawn failure (e.g. ENOENT) surfaces as an exit.
    proc.once("error", (err) => {
      out.stderr += `${err.message}\n`;
    });
    const child: Child = {
      name,
      proc,
      stdout: () => out.stdout,
      stderr: () => out.stderr,
      exited,
      waitFor: (pattern, stream) =>
        new Promise((resolve, reject) => {
          const check = () => {
            const m = pattern.exec(stream ? out[stream] : out.stdout + out.stderr);
            if (m) {
              listeners.delete(check);
              resolve(m);
            }
          };
          listeners.add(check);
          check();
          void exited.then((code) => {
            if (!listeners.has(check)) return;
            listeners.delete(check);
            reject(exitedEarly(code));
          });
        }),
      failOnExit: () => exited.then((code) => Promise.reject(exitedEarly(code))),
      stop: async (graceMs = 5000) => {
        if (proc.exitCode === null && proc.signalCode === null) {
          proc.kill("SIGTERM");
          const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
          await exited;
          clearTimeout(timer);
        }
        this.children.delete(child);
        return exited;
      },
    };
    this.children.add(child);
    void exited.then(() => this.children.delete(child));
    return child;
  }

  /** Stops every child still running. */
  async stopAll(graceMs?: number): Promise<void> {
    await Promise.all([...this.children].map((c) => c.stop(graceMs)));
  }
}
