// Reports the SGX device-node list whenever it changes: a stat poll on a short interval, with fs.watch on the
// dev directories to notice changes sooner (inotify does not see every case, e.g. a symlink target vanishing).
import { watch, type FSWatcher } from "node:fs";
import path from "node:path";
import { findSgxDeviceNodes, sameDeviceNodes, type SgxDeviceNode } from "./nodes.js";

export interface WatchOptions {
  /** Poll period; default 250 ms. */
  intervalMs?: number;
  /** Also call onChange with the first scan. */
  emitInitial?: boolean;
  /** Called when a scan throws (it should not: missing nodes are simply absent). */
  onError?: (err: Error) => void;
}

export interface DeviceNodeWatcher {
  /** Resolves with the first scan's list. */
  readonly ready: Promise<readonly SgxDeviceNode[]>;
  /** The latest list (empty before the first scan completes). */
  current(): readonly SgxDeviceNode[];
  /** Stops polling and watching; no onChange call happens after it returns. */
  stop(): void;
}

export function watchDeviceNodes(
  devRoot: string,
  onChange: (nodes: readonly SgxDeviceNode[]) => void,
  opts: WatchOptions = {},
): DeviceNodeWatcher {
  const intervalMs = opts.intervalMs ?? 250;
  let latest: readonly SgxDeviceNode[] = [];
  let stopped = false;
  let scanning = false;
  let rescan = false;
  let timer: NodeJS.Timeout | null = null;
  const watchers: FSWatcher[] = [];

  const schedule = (): void => {
    if (!stopped) timer = setTimeout(() => void scan(), intervalMs);
  };

  // One scan at a time; a trigger during a scan runs one more right after it.
  const scan = async (first = false): Promise<void> => {
    if (scanning) {
      rescan = true;
      return;
    }
    scanning = true;
    if (timer) clearTimeout(timer);
    timer = null;
    try {
      do {
        rescan = false;
        const nodes = await findSgxDeviceNodes(devRoot);
        if (stopped) return;
        const changed = !sameDeviceNodes(nodes, latest);
        latest = nodes;
        if (first ? opts.emitInitial : changed) onChange(nodes);
        first = false;
      } while (rescan && !stopped);
    } catch (err) {
      opts.onError?.(err as Error);
    } finally {
      scanning = false;
      schedule();
    }
  };

  for (const dir of ["dev", "dev/sgx"]) {
    try {
      const w = watch(path.join(devRoot, dir), { persistent: false }, () => void scan());
      w.on("error", () => w.close()); // e.g. the directory was removed; polling carries on
      watchers.push(w);
    } catch {
      // directory absent: polling covers it
    }
  }

  const ready = scan(true).then(() => latest);
  return {
    ready,
    current: () => latest,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      for (const w of watchers) w.close();
    },
  };
}
