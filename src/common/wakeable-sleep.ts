// A loop's pause that an event can cut short: a daemon loop sleeps between rounds (retry backoff, a
// periodic re-check) and another event (a kubelet restart, stop) wakes it at once.
export class WakeableSleep {
  private wakeUp: (() => void) | null = null;

  /** Resolves after `ms`, or as soon as `wake()` is called, whichever comes first. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }

  /** Ends the current sleep now; a no-op when nothing sleeps. */
  wake(): void {
    this.wakeUp?.();
  }
}
