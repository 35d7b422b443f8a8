/**
 * A Server-Sent Events client for tests: one fetch stream parsed incrementally, every message and
 * comment kept in order, and the seat model of bench/sse-client.ts (which also has the raw-socket
 * subscriber the scale test uses by the thousand).
 */

import { LiveState, type SseMessage, SseParser } from "../../bench/sse-client";

export { LiveState, openSseSocket, type SocketSubscriber, type SseMessage } from "../../bench/sse-client";

export interface SseClient {
  status: number;
  headers: Headers;
  messages: SseMessage[];
  comments: string[];
  /** Resolves when the server ends the stream (or the connection breaks). */
  ended: Promise<void>;
  isEnded(): boolean;
  lastId(): string | undefined;
  waitFor(pred: (m: SseMessage) => boolean, what: string, timeoutMs?: number): Promise<SseMessage>;
  close(): void;
  /** The live seat model built from snapshot + seats messages (see LiveState). */
  state: LiveState;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { accept: "text/event-stream", ...headers }, signal: abort.signal });
  const messages: SseMessage[] = [];
  const comments: string[] = [];
  const state = new LiveState();
  const waiters: { pred: (m: SseMessage) => boolean; resolve: (m: SseMessage) => void }[] = [];
  let ended = false;
  let last: string | undefined;
  const parser = new SseParser(
    (m) => {
      if (m.id !== undefined) last = m.id;
      messages.push(m);
      state.apply(m);
      for (const w of [...waiters]) {
        if (w.pred(m)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    },
    (c) => comments.push(c),
  );

  const ok = res.status === 200 && (res.headers.get("content-type") ?? "").startsWith("text/event-stream");
  const endedPromise = (async () => {
    if (!ok || !res.body) {
      await res.text().catch(() => "");
      return;
    }
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.push(decoder.decode(value, { stream: true }));
      }
    } catch {
      // aborted by close(), or the server dropped the connection
    } finally {
      ended = true;
    }
  })();

  return {
    status: res.status,
    headers: res.headers,
    messages,
    comments,
    ended: endedPromise,
    isEnded: () => ended,
    lastId: () => last,
    state,
    waitFor(pred, what, timeoutMs = 20_000) {
      const seen = messages.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
        waiters.push({
          pred,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
      });
    },
    close: () => abort.abort(),
  };
}
