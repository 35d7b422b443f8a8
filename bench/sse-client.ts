import net from "node:net";

/**
 * A Server-Sent Events client light enough for a thousand at once in one process (the live
 * availability bench and tests): a raw TCP socket, chunked HTTP/1.1 and SSE parsed incrementally
 * by hand (fetch in one Bun process allows only 256 requests in flight), and a seat model that
 * records any seat it was shown going BOOKED -> AVAILABLE.
 */

/** [seat_number, "A" | "H" | "B", version] */
export type ChangeTuple = [number, string, number];

export interface SseMessage {
  event: string;
  id?: string;
  data: string;
  retry?: number;
}

/** A subscriber's view: statuses by seat, versions, and every regression it was shown. */
export class LiveState {
  private seats: string[] = [];
  versions: number[] = [];
  snapshots = 0;
  changes = 0;
  /** Seats shown BOOKED and later AVAILABLE (without a cancel in between, if the test made none). */
  bookedToAvailable: number[] = [];
  /** A change with a version not above the one already shown for the seat. */
  staleVersions = 0;

  get statuses(): string {
    return this.seats.join("");
  }

  /** Applies a message; returns a `seats` message's changes (parsed once). */
  apply(m: SseMessage): ChangeTuple[] | undefined {
    if (m.event === "snapshot") {
      const snap = JSON.parse(m.data) as { statuses: string };
      this.seats = snap.statuses.split("");
      this.versions = new Array(snap.statuses.length).fill(-1);
      this.snapshots++;
    } else if (m.event === "seats") {
      const body = JSON.parse(m.data) as { changes: ChangeTuple[] };
      for (const [seat, status, version] of body.changes) {
        if (this.seats[seat - 1] === "B" && status === "A") this.bookedToAvailable.push(seat);
        const known = this.versions[seat - 1] ?? -1;
        if (known >= 0 && version <= known) this.staleVersions++;
        this.seats[seat - 1] = status;
        this.versions[seat - 1] = version;
        this.changes++;
      }
      return body.changes;
    }
    return undefined;
  }
}

/** Incremental SSE parsing: feed it decoded text as it arrives. */
export class SseParser {
  private buf = "";
  private current: Partial<SseMessage> & { dataLines?: string[] } = {};

  constructor(
    private readonly onMessage: (m: SseMessage) => void,
    private readonly onComment: (c: string) => void = () => {},
  ) {}

  push(text: string): void {
    this.buf += text;
    let nl = this.buf.indexOf("\n");
    while (nl >= 0) {
      const line = this.buf.slice(0, nl).replace(/\r$/, "");
      this.buf = this.buf.slice(nl + 1);
      nl = this.buf.indexOf("\n");
      this.line(line);
    }
  }

  private line(line: string): void {
    const current = this.current;
    if (line === "") {
      if (current.dataLines || current.retry !== undefined) {
        this.onMessage({
          event: current.event ?? "message",
          id: current.id,
          data: (current.dataLines ?? []).join("\n"),
          retry: current.retry,
        });
      }
      this.current = {};
      return;
    }
    if (line.startsWith(":")) {
      this.onComment(line.slice(1).trim());
      return;
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

/** One subscriber over a raw socket: keeps the seat model and the last id, not the messages. */
export interface SocketSubscriber {
  status: () => number;
  state: LiveState;
  lastId: () => string | undefined;
  /** Called with each `seats` message's changes and performance.now() at its arrival. */
  onSeats?: (changes: ChangeTuple[], at: number) => void;
  close(): void;
}

export function openSseSocket(
  port: number,
  path: string,
  host = "127.0.0.1",
  headers: Record<string, string> = {},
): Promise<SocketSubscriber> {
  return new Promise((resolve, reject) => {
    const state = new LiveState();
    let status = 0;
    let last: string | undefined;
    let head = "";
    let body = Buffer.alloc(0);
    let inBody = false;
    const decoder = new TextDecoder();
    const sub: SocketSubscriber = {
      status: () => status,
      state,
      lastId: () => last,
      close: () => socket.destroy(),
    };
    const parser = new SseParser((m) => {
      if (m.id !== undefined) last = m.id;
      const changes = state.apply(m);
      if (changes) sub.onSeats?.(changes, performance.now());
    });
    const socket = net.connect(port, host, () => {
      const extra = Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join("");
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nAccept: text/event-stream\r\n${extra}\r\n`);
    });
    socket.on("error", reject);
    socket.on("data", (chunk: Buffer) => {
      if (!inBody) {
        head += chunk.toString("latin1");
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        status = Number(head.slice(9, 12));
        body = Buffer.from(head.slice(end + 4), "latin1");
        inBody = true;
        resolve(sub);
      } else body = Buffer.concat([body, chunk]);
      // Chunked transfer coding: <hex size>\r\n<bytes>\r\n ...
      for (;;) {
        const lineEnd = body.indexOf("\r\n");
        if (lineEnd < 0) return;
        const size = Number.parseInt(body.subarray(0, lineEnd).toString("latin1"), 16);
        if (body.length < lineEnd + 2 + size + 2) return;
        parser.push(decoder.decode(body.subarray(lineEnd + 2, lineEnd + 2 + size), { stream: true }));
        body = body.subarray(lineEnd + 2 + size + 2);
        if (size === 0) return;
      }
    });
  });
}
