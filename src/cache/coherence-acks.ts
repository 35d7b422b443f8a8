import { throttledWarn } from "../platform/logger";
import { cacheAckTimeouts } from "../platform/metrics";

/**
 * The writer's side of coherence's acknowledgements (protocol: the comment at the top of
 * coherence.ts): waiting for the live readers to acknowledge a nonce, and recording their answers.
 */

export interface AckWait {
  acked: Set<string>;
  pending?: Set<string>;
  done?: () => void;
}

/**
 * Waits until every reader in `readers` (the readers script's answer: Redis's time, then id and lease
 * end per reader) other than `selfId` has acknowledged, or the bound has passed.
 */
export function awaitAcks(wait: AckWait, readers: string[], selfId: string, ackWaitMs: number): Promise<void> {
  const now = Number(readers[0]);
  const pending = new Set<string>();
  let longestMs = 0;
  for (let i = 1; i + 1 < readers.length; i += 2) {
    const id = readers[i] as string;
    if (id === selfId || wait.acked.has(id)) continue;
    pending.add(id);
    longestMs = Math.max(longestMs, Number(readers[i + 1]) - now);
  }
  if (pending.size === 0) return Promise.resolve();
  return new Promise<void>((resolve) => {
    // Counted from our receipt of the bump's answer: a reader that has not acknowledged by then
    // sent its latest answered PING before the bump, and its trust has run out.
    const timer = setTimeout(() => {
      cacheAckTimeouts.inc();
      warnAckTimeout({ readers: [...pending] });
      resolve();
    }, Math.min(ackWaitMs, longestMs) + 1);
    wait.pending = pending;
    wait.done = () => {
      clearTimeout(timer);
      resolve();
    };
  });
}

/** One acknowledgement message ("<reader> <nonce> …"): settles the waits it completes. */
export function applyAcks(waits: Map<string, AckWait>, reader: string, nonces: string[]): void {
  for (const nonce of nonces) {
    const wait = waits.get(nonce);
    if (!wait) continue;
    wait.acked.add(reader);
    if (wait.pending?.delete(reader) && wait.pending.size === 0) wait.done?.();
  }
}

// A reader that misses the bound often is overloaded or stalled: worth a line, not one per write.
const warnAckTimeout = throttledWarn(10_000, "cache coherence: readers did not acknowledge within CACHE_ACK_WAIT_MS");
