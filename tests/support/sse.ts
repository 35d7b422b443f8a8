/**
 * A Server-Sent Events client for tests: one fetch stream parsed incrementally (no EventSource,
 * so a thousand of them are cheap), every message and comment kept in order, and a seat-state
 * model that records any seat a subscriber saw go BOOKED -> AVAILABLE.
 */

export interface SseMessage {
  event: string;
  id?: string;
  data: string;
  retry?: number;
}

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

/** A subscriber's view: statuses by seat, versions, and every regression it was shown. */
export class LiveState {
  statuses = "";
  versions: number[] = [];
  snapshots = 0;
  changes = 0;
  /** Seats shown BOOKED and later AVAILABLE (without a cancel in between, if the test made none). */
  bookedToAvailable: number[] = [];
  /** A change with a version not above the one already shown for the seat. */
  staleVersions = 0;

  apply(m: SseMessage): void {
    if (m.event === "snapshot") {
      const snap = JSON.parse(m.data) as { statuses: string };
      this.statuses = snap.statuses;
      this.versions = new Array(snap.statuses.length).fill(-1);
      this.snapshots++;
    } else if (m.event === "seats") {
      const body = JSON.parse(m.data) as { changes: [number, string, number][] };
      const chars = this.statuses.split("");
      for (const [seat, status, version] of body.changes) {
        const before = chars[seat - 1];
        if (before === "B" && status === "A") this.bookedToAvailable.push(seat);
        const known = this.versions[seat - 1] ?? -1;
        if (known >= 0 && version <= known) this.staleVersions++;
        chars[seat - 1] = status;
        this.versions[seat - 1] = version;
        this.changes++;
      }
      this.statuses = chars.join("");
    }
  }
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

  const ok = res.status === 200 && (res.headers.get("content-type") ?? "").startsWith("text/event-stream");
  const endedPromise = (async () => {
    if (!ok || !res.body) {
      await res.text().catch(() => "");
      return;
    }
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    let current: Partial<SseMessage> & { dataLines?: string[] } = {};
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        let nl = buf.indexOf("\n");
        while (nl >= 0) {
          const line = buf.slice(0, nl).replace(/\r$/, "");
          buf = buf.slice(nl + 1);
          nl = buf.indexOf("\n");
          if (line === "") {
            if (current.dataLines || current.retry !== undefined) {
              const m: SseMessage = {
                event: current.event ?? "message",
                id: current.id,
                data: (current.dataLines ?? []).join("\n"),
                retry: current.retry,
              };
              if (m.id !== undefined) last = m.id;
              messages.push(m);
              state.apply(m);
              for (const w of [...waiters]) {
                if (w.pred(m)) {
                  waiters.splice(waiters.indexOf(w), 1);
                  w.resolve(m);
                }
              }
            }
            current = {};
            continue;
          }
          if (line.startsWith(":")) {
            comments.push(line.slice(1).trim());
            continue;
          }
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "data") current.dataLines = [...(current.dataLines ?? []), value];
          else if (field === "event") current.event = value;
          else if (field === "id") current.id = value;
          else if (field === "retry") current.retry = Number(value);
        }
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
