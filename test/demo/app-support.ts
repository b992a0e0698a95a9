// Runs the attestation sample as a child process, as its Job would.
import { spawn } from "node:child_process";
import path from "node:path";
import { repoRoot } from "../support/paths.js";

export const appEntry = path.join(repoRoot, "dist/examples/attestation/app.js");

export interface AppRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The app with exactly `env` (plus PATH), so the test's own environment cannot choose the mode. */
export function runApp(args: string[], env: Record<string, string>): Promise<AppRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [appEntry, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH ?? "", ...env }, timeout: 60_000 });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}
