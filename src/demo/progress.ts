// How the demo shows its steps: one updating line per step on a terminal (spinner, then a check mark
// or a cross), plain lines otherwise, nothing with --json (the document is printed at the end).
import type { StepRecord, StepReporter } from "./steps.js";

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const GREEN = "\x1b[32m";
const RED = "\x1b[31m";
const DIM = "\x1b[2m";
const RESET = "\x1b[0m";

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

export function stepLine(s: StepRecord): string {
  return `${s.ok ? "ok" : "FAILED"}  ${s.title} (${seconds(s.ms)})${s.ok ? (s.detail ? `: ${s.detail}` : "") : `: ${s.error}`}`;
}

export class PlainReporter implements StepReporter {
  constructor(private readonly out: NodeJS.WritableStream) {}
  start(): void {}
  end(s: StepRecord): void {
    this.out.write(`${stepLine(s)}\n`);
  }
}

export class TtyReporter implements StepReporter {
  private timer?: NodeJS.Timeout;
  private frame = 0;

  constructor(private readonly out: NodeJS.WriteStream) {}

  start(title: string): void {
    const t0 = Date.now();
    const draw = () => this.out.write(`\r\x1b[K${SPINNER[this.frame++ % SPINNER.length]} ${title} ${DIM}${seconds(Date.now() - t0)}${RESET}`);
    draw();
    this.timer = setInterval(draw, 80);
  }

  end(s: StepRecord): void {
    clearInterval(this.timer);
    const mark = s.ok ? `${GREEN}✔${RESET}` : `${RED}✖${RESET}`;
    const tail = s.ok ? (s.detail ? ` ${DIM}${s.detail}${RESET}` : "") : ` ${RED}${s.error}${RESET}`;
    this.out.write(`\r\x1b[K${mark} ${s.title} ${DIM}(${seconds(s.ms)})${RESET}${tail}\n`);
  }
}

export const silentReporter: StepReporter = { start() {}, end() {} };
