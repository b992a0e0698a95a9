// Every test that waits on an event waits through these, so a regression fails with a message naming
// what never happened instead of hanging the run.
import { once, type EventEmitter } from "node:events";

/** `p`, or a rejection saying `what` did not happen within `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** `events.once(emitter, event)` that fails after `ms` instead of waiting forever. */
export async function onceWithin(emitter: EventEmitter, event: string, ms: number, what = `'${event}'`): Promise<unknown[]> {
  try {
    return await once(emitter, event, { signal: AbortSignal.timeout(ms) });
  } catch (err) {
    if ((err as Error).name === "AbortError") throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    throw err;
  }
}
