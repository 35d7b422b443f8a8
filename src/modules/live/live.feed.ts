import { config } from "../../config";
import { type ChangeTuple, liveStreamKey } from "../../messaging/live";
import { sql } from "../../platform/db";
import { hashSlot, isClusterMode } from "../../platform/redis";
import { cmpId, idText, type StreamId, streamInfo, ZERO_ID } from "./live.ids";
import * as repo from "./live.repo";

export const encoder = new TextEncoder();
const CHAR_OF = { A: 65, H: 72, B: 66 } as const;
const STATUS_OF_CODE: Record<number, "A" | "H" | "B"> = { 65: "A", 72: "H", 66: "B" };

export interface SeatStatusSnapshot {
  event_id: number;
  capacity: number;
  available: number;
  held: number;
  booked: number;
  statuses: string;
}

export interface Connection {
  ip: string;
  feed: Feed;
  controller: ReadableStreamDefaultController<Uint8Array>;
  closed: boolean;
  /** Since when unread bytes have been waiting without ever draining (idle detection). */
  stalledSince?: number;
  /** Resuming from an id this process has not read up to yet: waits for the reader. */
  parkedUntil?: { id: StreamId; deadline: number };
}

export class Feed {
  readonly key: string;
  readonly fullKey: string;
  /** Which reader reads this feed's stream: its hash slot on a cluster, else the one reader (0). */
  readonly group: number;
  statuses = new Uint8Array(0);
  versions = new Int32Array(0);
  /** Stream id of the last change applied to each seat ([0, 0]: before this feed was loaded). */
  changedMs = new Float64Array(0);
  changedSeq = new Float64Array(0);
  counts = { A: 0, H: 0, B: 0 };
  versionSum = 0;
  /** Position of the load: changes before it are known only from the stream. */
  baseId: StreamId = ZERO_ID;
  lastId: StreamId = ZERO_ID;
  loaded = false;
  /** Bumped by every reset: a resume planned against an older generation gets a snapshot. */
  generation = 0;
  private snapshotCache: { at: StreamId; bytes: Uint8Array } | undefined;
  readonly ready: Promise<boolean>;
  readonly connections = new Set<Connection>();
  readonly pending = new Set<number>();
  lastFlush = 0;
  flushTimer: ReturnType<typeof setTimeout> | undefined;
  lingerTimer: ReturnType<typeof setTimeout> | undefined;
  /** Seats PostgreSQL had newer at the last reconcile pass: repaired if still behind at the next. */
  suspects = new Map<number, number>();

  constructor(readonly eventId: number) {
    this.key = liveStreamKey(eventId);
    this.fullKey = config.REDIS_KEY_PREFIX + this.key;
    this.group = isClusterMode ? hashSlot(this.key) : 0;
    this.ready = this.load();
  }

  /** Position first, then PostgreSQL: every entry up to the position is already in what we read. */
  async load(): Promise<boolean> {
    const info = await streamInfo(this.key);
    const state = await repo.loadEventSeats(sql, this.eventId);
    if (!state) return false;
    // No stream (never written, or expired): read it from its start once it appears, but resume
    // nobody from before now, since what an expired stream held is gone.
    if (info) this.reset(state, info.lastGenerated, info.lastGenerated);
    else this.reset(state, ZERO_ID, [Date.now(), 0]);
    this.loaded = true;
    return true;
  }

  reset(state: repo.EventSeatState, position: StreamId, base: StreamId = position): void {
    const n = state.statuses.length;
    this.statuses = encoder.encode(state.statuses);
    this.versions = Int32Array.from(state.versions);
    this.changedMs = new Float64Array(n);
    this.changedSeq = new Float64Array(n);
    this.counts = { A: 0, H: 0, B: 0 };
    this.versionSum = 0;
    for (let i = 0; i < n; i++) {
      this.counts[STATUS_OF_CODE[this.statuses[i] as number] ?? "A"]++;
      this.versionSum += this.versions[i] as number;
    }
    this.baseId = base;
    this.lastId = position;
    this.generation++;
    this.snapshotCache = undefined;
    this.pending.clear();
    this.suspects.clear();
  }

  /** Applies one change if it is newer than what the feed has; true when it was. */
  apply(seat: number, status: "A" | "H" | "B", version: number, at: StreamId): boolean {
    const i = seat - 1;
    if (i < 0 || i >= this.statuses.length || version <= (this.versions[i] as number)) return false;
    const before = STATUS_OF_CODE[this.statuses[i] as number] ?? "A";
    this.counts[before]--;
    this.counts[status]++;
    this.versionSum += version - (this.versions[i] as number);
    this.statuses[i] = CHAR_OF[status];
    this.versions[i] = version;
    this.changedMs[i] = at[0];
    this.changedSeq[i] = at[1];
    this.pending.add(seat);
    this.snapshotCache = undefined;
    return true;
  }

  tuple(seat: number): ChangeTuple {
    const i = seat - 1;
    return [seat, STATUS_OF_CODE[this.statuses[i] as number] ?? "A", this.versions[i] as number];
  }

  snapshot(): SeatStatusSnapshot {
    return {
      event_id: this.eventId,
      capacity: this.statuses.length,
      available: this.counts.A,
      held: this.counts.H,
      booked: this.counts.B,
      statuses: new TextDecoder().decode(this.statuses),
    };
  }

  /** Encoded once per state: a crowd reconnecting to a large event costs one encoding. */
  snapshotMessage(): Uint8Array {
    const cached = this.snapshotCache;
    if (cached && cmpId(cached.at, this.lastId) === 0) return cached.bytes;
    const bytes = encoder.encode(
      `id: ${idText(this.lastId)}\nevent: snapshot\ndata: ${JSON.stringify(this.snapshot())}\n\n`,
    );
    this.snapshotCache = { at: this.lastId, bytes };
    return bytes;
  }

  seatsMessage(seats: Iterable<number>): Uint8Array {
    const changes = [...seats].sort((a, b) => a - b).map((s) => this.tuple(s));
    const data = {
      event_id: this.eventId,
      changes,
      available: this.counts.A,
      held: this.counts.H,
      booked: this.counts.B,
    };
    return encoder.encode(`id: ${idText(this.lastId)}\nevent: seats\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** Seats whose last applied change came after `id` (only meaningful for id >= baseId). */
  changedAfter(id: StreamId): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.statuses.length; i++) {
      const ms = this.changedMs[i] as number;
      if (ms > id[0] || (ms === id[0] && (this.changedSeq[i] as number) > id[1])) out.push(i + 1);
    }
    return out;
  }
}
