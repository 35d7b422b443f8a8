import type { Socket } from "bun";

/**
 * A minimal keep-alive HTTP/1.1 client on raw sockets, for the load generator only: one request in
 * flight per connection, the body is counted and dropped, never decoded. Measured here it drives a
 * Bun server about twice as hard as `fetch` for the same client CPU (as hard as wrk), which matters
 * when client and server share two cores.
 */

export interface HttpAnswer {
  status: number;
  /** Body bytes (after de-chunking); headers not included. */
  bodyBytes: number;
}

type BodyMode = { kind: "length"; remaining: number } | { kind: "chunked"; state: ChunkState; remaining: number };
type ChunkState = "size" | "data" | "data-crlf" | "trailer";

const CRLF2 = Buffer.from("\r\n\r\n");

/** Incremental response parser: feed it bytes, it reports each complete response. */
export class ResponseParser {
  private head: Buffer | undefined;
  private body: BodyMode | undefined;
  private status = 0;
  private bodyBytes = 0;
  private line = "";
  private keepAlive = true;

  constructor(private readonly onResponse: (answer: HttpAnswer, keepAlive: boolean) => void) {}

  feed(chunk: Buffer): void {
    let data = chunk;
    while (data.length > 0) {
      if (!this.body) {
        const joined: Buffer = this.head ? Buffer.concat([this.head, data]) : data;
        const end = joined.indexOf(CRLF2);
        if (end < 0) {
          this.head = joined;
          return;
        }
        this.head = undefined;
        const body = this.startBody(joined.subarray(0, end).toString("latin1"));
        data = joined.subarray(end + 4);
        if (body.kind === "length" && body.remaining === 0) this.finish();
        continue;
      }
      data = this.consumeBody(data);
    }
  }

  private startBody(head: string): BodyMode {
    const eol = head.indexOf("\r\n");
    const firstLine = eol < 0 ? head : head.slice(0, eol);
    this.status = Number(firstLine.split(" ")[1]);
    this.bodyBytes = 0;
    const lower = head.toLowerCase();
    this.keepAlive = !/\r\nconnection:\s*close/.test(lower);
    const length = /\r\ncontent-length:\s*(\d+)/.exec(lower);
    if (/\r\ntransfer-encoding:[^\r]*chunked/.test(lower)) {
      this.body = { kind: "chunked", state: "size", remaining: 0 };
      this.line = "";
    } else {
      const noBody = this.status === 204 || this.status === 304 || (this.status >= 100 && this.status < 200);
      this.body = { kind: "length", remaining: noBody || !length ? 0 : Number(length[1]) };
    }
    return this.body;
  }

  private finish(): void {
    const answer = { status: this.status, bodyBytes: this.bodyBytes };
    this.body = undefined;
    this.onResponse(answer, this.keepAlive);
  }

  /** Consumes body bytes; returns what belongs to the next response. */
  private consumeBody(data: Buffer): Buffer {
    const body = this.body as BodyMode;
    if (body.kind === "length") {
      const take = Math.min(body.remaining, data.length);
      body.remaining -= take;
      this.bodyBytes += take;
      if (body.remaining === 0) this.finish();
      return data.subarray(take);
    }
    let i = 0;
    while (i < data.length && this.body) {
      if (body.state === "data") {
        const take = Math.min(body.remaining, data.length - i);
        body.remaining -= take;
        this.bodyBytes += take;
        i += take;
        if (body.remaining === 0) body.state = "data-crlf";
        continue;
      }
      const nl = data.indexOf(10, i);
      if (nl < 0) {
        this.line += data.toString("latin1", i);
        return Buffer.alloc(0);
      }
      const line = (this.line + data.toString("latin1", i, nl)).replace(/\r$/, "");
      this.line = "";
      i = nl + 1;
      if (body.state === "size") {
        body.remaining = Number.parseInt(line.split(";")[0] as string, 16);
        body.state = body.remaining === 0 ? "trailer" : "data";
      } else if (body.state === "data-crlf") {
        body.state = "size";
      } else if (line === "") {
        this.finish();
      }
    }
    return data.subarray(i);
  }
}

interface Waiter {
  resolve: (answer: HttpAnswer) => void;
  reject: (err: Error) => void;
}

/** One keep-alive connection. `send` may only be called when the previous answer has arrived. */
export class HttpConnection {
  private waiter: Waiter | undefined;
  private unsent: Buffer | undefined;
  private closed = false;
  private readonly parser: ResponseParser;

  private constructor(private readonly socket: Socket<HttpConnection>) {
    this.parser = new ResponseParser((answer, keepAlive) => {
      if (!keepAlive) this.close();
      const w = this.waiter;
      this.waiter = undefined;
      w?.resolve(answer);
    });
  }

  static open(host: string, port: number): Promise<HttpConnection> {
    return new Promise((resolve, reject) => {
      Bun.connect<HttpConnection>({
        hostname: host,
        port,
        socket: {
          open(socket) {
            const conn = new HttpConnection(socket);
            socket.data = conn;
            resolve(conn);
          },
          data(socket, chunk) {
            socket.data.parser.feed(chunk);
          },
          drain(socket) {
            socket.data.flush();
          },
          close(socket) {
            socket.data?.fail(new Error("connection closed"));
          },
          error(socket, err) {
            socket.data?.fail(err);
          },
          connectError(_socket, err) {
            reject(err);
          },
        },
      }).catch(reject);
    });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  send(request: Buffer): Promise<HttpAnswer> {
    if (this.closed) return Promise.reject(new Error("connection closed"));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.unsent = request;
      this.flush();
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.end();
  }

  private flush(): void {
    if (!this.unsent) return;
    const written = this.socket.write(this.unsent);
    this.unsent = written < this.unsent.length ? this.unsent.subarray(Math.max(0, written)) : undefined;
  }

  private fail(err: Error): void {
    this.closed = true;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(err);
  }
}

/** Encodes one request; `headers` are extra lines without the trailing CRLF. */
export function formatRequest(method: string, path: string, host: string, headers: string[], body?: string): Buffer {
  const lines = [`${method} ${path} HTTP/1.1`, `host: ${host}`, ...headers];
  if (body !== undefined) {
    lines.push("content-type: application/json", `content-length: ${Buffer.byteLength(body)}`);
  } else if (method !== "GET") {
    lines.push("content-length: 0");
  }
  return Buffer.from(`${lines.join("\r\n")}\r\n\r\n${body ?? ""}`, "utf8");
}
