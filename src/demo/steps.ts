// The demo as a sequence of timed steps, reported as they start and end (see progress.ts).
export interface StepRecord {
  name: string;
  title: string;
  ok: boolean;
  ms: number;
  detail?: string;
  error?: string;
}

export interface StepReporter {
  start(title: string): void;
  end(step: StepRecord): void;
}

export class StepFailed extends Error {
  override name = "StepFailed";
  constructor(readonly step: StepRecord) {
    super(`${step.title} failed: ${step.error}`);
  }
}

export class Steps {
  readonly records: StepRecord[] = [];
  private current: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly reporter: StepReporter,
    private readonly abort: AbortSignal,
  ) {}

  /** Runs one step; `f` returns its value and a one-line detail. Throws StepFailed on error or abort. */
  async run<T>(name: string, title: string, f: () => Promise<{ value: T; detail: string }>): Promise<T> {
    this.reporter.start(title);
    const t0 = performance.now();
    const finish = (rec: Omit<StepRecord, "name" | "title" | "ms">) => {
      const step: StepRecord = { name, title, ms: Math.round(performance.now() - t0), ...rec };
      this.records.push(step);
      this.reporter.end(step);
      return step;
    };
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(new Error(`interrupted (${String(this.abort.reason)})`));
      if (this.abort.aborted) onAbort();
      else this.abort.addEventListener("abort", onAbort, { once: true });
    });
    aborted.catch(() => undefined);
    try {
      const work = f();
      this.current = work.catch(() => undefined);
      const { value, detail } = await Promise.race([work, aborted]);
      finish({ ok: true, detail });
      return value;
    } catch (e) {
      throw new StepFailed(finish({ ok: false, error: e instanceof Error ? e.message : String(e) }));
    } finally {
      this.abort.removeEventListener("abort", onAbort!);
    }
  }

  /**
   * Waits (at most `ms`) for the work of a step that was interrupted to finish, so that cleaning up
   * after it cannot race with it (e.g. a temp dir removed while a step still writes into it).
   */
  async settled(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.current, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }
}
