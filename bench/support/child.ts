// Benchmarked daemons run as their own processes, as they are deployed: the load generator in the
// bench's process must not share their event loop.
import { spawn, type ChildProcess } from "node:child_process";

/**
 * Spawns `node args` and resolves once `ready` matches its stdout or stderr (or rejects when it exits
 * first). `ipc` opens a message channel to it (child.send, process.send in it).
 */
export function startChild(args: string[], ready: RegExp, env: NodeJS.ProcessEnv = process.env, opts: { ipc?: boolean } = {}): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, args, { stdio: opts.ipc ? ["ignore", "pipe", "pipe", "ipc"] : ["ignore", "pipe", "pipe"], env });
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (child.kill("SIGKILL"), reject(new Error(`not ready within 30 s: ${out.slice(-2000)}`))), 30_000);
    const seen = (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m });
      }
    };
    child.stdout!.on("data", seen);
    child.stderr!.on("data", seen);
    child.once("exit", (code) => (clearTimeout(timer), reject(new Error(`exited ${code}: ${out.slice(-2000)}`))));
  });
}

export const stopChild = (c: ChildProcess) =>
  new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : (c.once("exit", () => r()), c.kill("SIGTERM"))));
