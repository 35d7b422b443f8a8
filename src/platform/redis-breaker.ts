import type Redis from "ioredis";
import { Command } from "ioredis";
import { logger } from "./logger";

/**
 * A circuit breaker for a request-path Redis client, so that a hung Redis (paused, partitioned,
 * overloaded: the connection stays up but nothing answers) costs one command timeout, not one per
 * call. A killed Redis needs none of this: ioredis refuses commands at once while it reconnects.
 *
 * - Opens when a command on the client times out.
 * - While open, every command fails at once with `RedisCircuitOpenError`; callers already treat
 *   that like any Redis failure (fall back to PostgreSQL, fail open, report "degraded").
 * - Closes when a probe (PING, every `probeEveryMs`, sent past the breaker) is answered, or when
 *   the client reconnects.
 *
 * It wraps the client's `sendCommand`, through which ioredis sends every command, including
 * scripts and (auto-)pipelines; tests/redis-breaker.test.ts pins that behaviour.
 */

export class RedisCircuitOpenError extends Error {
  constructor() {
    super("redis circuit open: a recent command timed out");
  }
}

const TIMEOUT_MESSAGE = "Command timed out";
const breakers = new WeakMap<Redis, RedisBreaker>();

export class RedisBreaker {
  private openSince = 0;
  private probeTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly send: Redis["sendCommand"];

  private constructor(
    private readonly client: Redis,
    private readonly probeEveryMs: number,
  ) {
    this.send = client.sendCommand.bind(client);
    client.sendCommand = ((command: Command, ...rest: unknown[]) => {
      if (this.isOpen) {
        command.reject(new RedisCircuitOpenError());
        return command.promise;
      }
      const sent = (this.send as (c: Command, ...r: unknown[]) => unknown)(command, ...rest);
      command.promise.catch((err: Error) => {
        if (err?.message === TIMEOUT_MESSAGE) this.trip(command.name);
      });
      return sent;
    }) as Redis["sendCommand"];
    client.on("ready", () => this.close("reconnected"));
    client.once("end", () => this.stopProbing());
  }

  /** The breaker of this client, created (and the client wrapped) on first use. */
  static of(client: Redis, probeEveryMs = 250): RedisBreaker {
    let breaker = breakers.get(client);
    if (!breaker) {
      breaker = new RedisBreaker(client, probeEveryMs);
      breakers.set(client, breaker);
    }
    return breaker;
  }

  get isOpen(): boolean {
    return this.openSince > 0;
  }

  /** Connected and not known to hang: worth sending a command. */
  get usable(): boolean {
    return this.client.status === "ready" && !this.isOpen;
  }

  private trip(commandName: string): void {
    if (this.isOpen) return;
    this.openSince = Date.now();
    logger.warn({ command: commandName }, "redis: a command timed out; skipping redis until it answers again");
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    this.stopProbing();
    this.probeTimer = setTimeout(() => void this.probe(), this.probeEveryMs);
    this.probeTimer.unref?.();
  }

  private async probe(): Promise<void> {
    if (!this.isOpen) return;
    try {
      // Straight to the client's own sendCommand: the probe must pass the open breaker.
      const ping = new Command("ping", []);
      this.send(ping);
      await ping.promise;
      this.close("answered a probe");
    } catch {
      this.scheduleProbe();
    }
  }

  private close(reason: string): void {
    if (!this.isOpen) return;
    logger.info({ reason, open_ms: Date.now() - this.openSince }, "redis: using redis again");
    this.openSince = 0;
    this.stopProbing();
  }

  private stopProbing(): void {
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
  }
}
