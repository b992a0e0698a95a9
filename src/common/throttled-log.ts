// A log line that a hostile client can trigger at will (a refused connection, a bad frame) must not
// let it flood the node's logs. Per reason (a small fixed set), the first event of a quiet period is
// logged at once with its fields; later ones are counted and written as one line per interval.
import type { Logger } from "./log.js";

export interface ThrottledLog {
  /** Records one event; `reason` must come from a small fixed set, `fields` must be bounded. */
  add(reason: string, fields?: Record<string, unknown>): void;
  /** Writes the counts not yet logged (at shutdown). */
  flush(): void;
}

export const DEFAULT_LOG_INTERVAL_MS = 10_000;

interface ReasonState {
  suppressed: number;
  since: number;
  timer?: NodeJS.Timeout;
  fields?: Record<string, unknown>;
}

export function throttledLog(log: Logger, level: "warn" | "info" | "error", msg: string, intervalMs = DEFAULT_LOG_INTERVAL_MS): ThrottledLog {
  const states = new Map<string, ReasonState>();

  const writeSuppressed = (reason: string, st: ReasonState) => {
    if (st.suppressed === 0) return false;
    log[level]({ reason, ...st.fields, count: st.suppressed, overMs: Date.now() - st.since }, msg);
    st.suppressed = 0;
    st.fields = undefined;
    st.since = Date.now();
    return true;
  };
  const quietPeriod = (reason: string, st: ReasonState) => {
    st.timer = setTimeout(() => {
      st.timer = undefined;
      if (writeSuppressed(reason, st)) quietPeriod(reason, st);
    }, intervalMs);
    st.timer.unref();
  };

  return {
    add(reason, fields) {
      let st = states.get(reason);
      if (!st) states.set(reason, (st = { suppressed: 0, since: Date.now() }));
      if (st.timer === undefined) {
        log[level]({ reason, ...fields, count: 1 }, msg);
        st.since = Date.now();
        quietPeriod(reason, st);
        return;
      }
      st.suppressed++;
      st.fields ??= fields;
    },
    flush() {
      for (const [reason, st] of states) {
        clearTimeout(st.timer);
        st.timer = undefined;
        writeSuppressed(reason, st);
      }
    },
  };
}
