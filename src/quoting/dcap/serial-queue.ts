/** Runs async tasks one at a time, in submission order; a failed task does not stop the ones after it. */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Settles once every task submitted so far has settled. */
  async drain(): Promise<void> {
    await this.tail;
  }
}
