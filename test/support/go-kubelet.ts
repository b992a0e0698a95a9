// The grpc-go kubelet peer (test/peers/kubelet-go), built once per process with Debian's Go and its
// packaged grpc-go and protobuf sources (GOPATH mode: no module download), and driven over its stdin and
// stdout. Without them, the tests that need it are skipped with one line; with CI=true they run and fail
// instead, so CI never loses them silently (.ci/run installs the packages).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { existsSync, mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { repoRoot } from "./paths.js";
import { within } from "./timeout.js";

/** Debian's packages the peer builds from. */
export const GO_KUBELET_PACKAGES = "golang-go golang-google-grpc-dev golang-google-protobuf-dev";
const GOCODE = "/usr/share/gocode";
const SOURCE = path.join(repoRoot, "test/peers/kubelet-go");

function problem(): string | undefined {
  const go = spawnSync("go", ["version"], { encoding: "utf8" });
  const missing = [
    ...(go.status === 0 ? [] : ["go"]),
    ...["google.golang.org/grpc", "google.golang.org/protobuf"].filter((p) => !existsSync(path.join(GOCODE, "src", p))),
  ];
  if (missing.length === 0) return undefined;
  return `the grpc-go kubelet peer cannot be built: no ${missing.join(", ")}; apt-get install ${GO_KUBELET_PACKAGES} (README, Development: "The grpc-go kubelet peer")`;
}

const found = problem();

/** `{ skip }` for a suite that needs the peer: a one-line reason when it cannot be built, unless CI=true. */
export const needsGoKubelet: { skip: string | false } = { skip: found && process.env.CI !== "true" ? found : false };

let binary: Promise<string> | undefined;

/** Builds the peer (once per process) and resolves with its executable. */
export function goKubeletBinary(): Promise<string> {
  binary ??= new Promise((resolve, reject) => {
    if (found) return reject(new Error(found));
    const gopath = mkdtempSync(path.join(os.tmpdir(), "confcom-kubelet-go-"));
    mkdirSync(path.join(gopath, "src/confcom"), { recursive: true });
    symlinkSync(SOURCE, path.join(gopath, "src/confcom/kubeletpeer"));
    const out = path.join(gopath, "kubelet-go");
    // GOPATH mode with Debian's sources and no proxy: nothing is downloaded. The build cache outlives the
    // run (a rebuild takes a second, a cold build about ten).
    const cache = process.env.GOCACHE ?? path.join(os.tmpdir(), "confcom-go-build-cache");
    const env = { ...process.env, GOPATH: `${gopath}:${GOCODE}`, GO111MODULE: "off", GOPROXY: "off", GOFLAGS: "", GOCACHE: cache };
    const build = spawn("go", ["build", "-o", out, "confcom/kubeletpeer"], { env, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    build.stderr.on("data", (b: Buffer) => (err += b.toString()));
    build.on("error", reject);
    build.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`go build of the kubelet peer failed (${code}): ${err.slice(0, 2000)}`))));
  });
  return binary;
}

export interface GoKubeletEvent {
  ev: "served" | "registered" | "snapshot" | "allocated" | "stopped" | "error";
  /** ms since the latest start began. */
  t: number;
  resource?: string;
  devices?: number | string[];
  healthy?: number;
  envs?: Record<string, string>;
  what?: string;
  err?: string;
}

/** One peer process. Events: every GoKubeletEvent as "event", and "change" after each. */
export class GoKubelet extends EventEmitter {
  readonly registrations = new Map<string, number>();
  readonly healthy = new Map<string, number>();
  readonly errors: string[] = [];
  private running = false;

  private constructor(
    readonly socketDir: string,
    private readonly proc: ChildProcess,
  ) {
    super();
    createInterface({ input: proc.stdout! }).on("line", (line) => this.take(JSON.parse(line) as GoKubeletEvent));
  }

  /** Spawns the peer on `socketDir` (which must exist) and starts it. */
  static async launch(socketDir: string, opts: { legacyAuthority?: boolean } = {}): Promise<GoKubelet> {
    const proc = spawn(await goKubeletBinary(), ["-dir", socketDir, ...(opts.legacyAuthority ? ["-legacy-authority"] : [])], { stdio: ["pipe", "pipe", "inherit"] });
    const peer = new GoKubelet(socketDir, proc);
    await peer.start();
    return peer;
  }

  /** Cleans the directory of sockets (the plugins' signal) and serves kubelet.sock; resolves once served. */
  async start(): Promise<GoKubeletEvent> {
    const e = await this.command("start", (e) => e.ev === "served" || (e.ev === "error" && e.what === "start"));
    if (e.ev === "error") throw new Error(`the grpc-go peer did not start: ${e.err}`);
    return e;
  }

  stop(): Promise<GoKubeletEvent> {
    return this.command("stop", (e) => e.ev === "stopped");
  }

  /** Allocate through grpc-go; rejects with the peer's error. */
  allocate(resource: string, ids: readonly string[]): Promise<GoKubeletEvent> {
    const answer = (e: GoKubeletEvent) => (e.ev === "allocated" && e.resource === resource) || (e.ev === "error" && e.what === "allocate");
    return this.command(`allocate ${resource} ${ids.join(",")}`, answer).then((e) => (e.ev === "error" ? Promise.reject(new Error(`allocate: ${e.err}`)) : e));
  }

  /** Resolves once `predicate` holds (checked now and after every event). */
  async waitFor(predicate: (k: GoKubelet) => boolean, timeoutMs: number, what: string): Promise<void> {
    if (predicate(this)) return;
    let listener = () => {};
    const holds = new Promise<void>((resolve) => (listener = () => predicate(this) && resolve()));
    this.on("change", listener);
    try {
      await within(holds, timeoutMs, what);
    } catch (err) {
      const saw = { registrations: Object.fromEntries(this.registrations), healthy: Object.fromEntries(this.healthy), errors: this.errors.slice(-3) };
      throw new Error(`${(err as Error).message}; the grpc-go peer saw ${JSON.stringify(saw)}`);
    } finally {
      this.off("change", listener);
    }
  }

  async close(): Promise<void> {
    const exited = new Promise<void>((resolve) => (this.proc.exitCode !== null ? resolve() : this.proc.once("exit", () => resolve())));
    this.proc.stdin!.end();
    await within(exited, 10_000, "the grpc-go peer to exit").catch(() => this.proc.kill("SIGKILL"));
  }

  private command(line: string, answer: (e: GoKubeletEvent) => boolean): Promise<GoKubeletEvent> {
    const got = new Promise<GoKubeletEvent>((resolve) => {
      const on = (e: GoKubeletEvent) => {
        if (!answer(e)) return;
        this.off("event", on);
        resolve(e);
      };
      this.on("event", on);
    });
    this.proc.stdin!.write(`${line}\n`);
    return within(got, 15_000, `the grpc-go peer to answer "${line}"`);
  }

  private take(e: GoKubeletEvent): void {
    if (e.ev === "served") this.running = true;
    if (e.ev === "stopped") {
      this.running = false;
      this.healthy.clear();
    }
    if (e.ev === "registered") this.registrations.set(e.resource!, (this.registrations.get(e.resource!) ?? 0) + 1);
    if (e.ev === "snapshot" && this.running) this.healthy.set(e.resource!, e.healthy!);
    if (e.ev === "error") this.errors.push(`${e.what}: ${e.err}`);
    this.emit("event", e);
    this.emit("change");
  }
}
