import { beforeAll, describe, expect, it } from "bun:test";
import { Streams } from "../../src/messaging/catalog";
import { deadLetterStream, readStream } from "../../src/messaging/streams";
import { sql } from "../../src/platform/db";
import { redis, waitForRedis } from "../../src/platform/redis";
import { registerAndLogin } from "../support/http";
import { repoRoot, spawnLogged } from "../support/processes";
import { waitFor } from "../support/wait";

beforeAll(() => waitForRedis(5_000));

const DAY = 86_400_000;
const idAgo = (ms: number, seq = 0) => `${Date.now() - ms}-${seq}`;

describe("maintenance worker (real process)", () => {
  it("trims old consumed stream entries and dead letters past their retention, and purges expired idempotency keys", async () => {
    const stream = Streams.eventChanged;
    const dead = deadLetterStream(stream);
    const payload = JSON.stringify({ event_id: 1, change: "updated" });
    // Ids carry their time: an entry "written" two days ago, then one now.
    await redis.xadd(stream, idAgo(2 * DAY), "payload", payload);
    const recentEntry = (await redis.xadd(stream, "*", "payload", payload)) as string;
    const expiredDead = idAgo(8 * DAY);
    const keptDead = idAgo(2 * DAY);
    await redis.xadd(dead, expiredDead, "payload", payload);
    await redis.xadd(dead, keptDead, "payload", payload);

    const user = await registerAndLogin("keys");
    await sql`insert into idempotency_keys (user_id, key, request_hash, status_code, response_body, expires_at)
                    values (${user.id}, 'expired', 'h', 201, '{}', now() - interval '1 second'),
                           (${user.id}, 'live', 'h', 201, '{}', now() + interval '1 hour')`;

    const worker = spawnLogged([process.execPath, `${repoRoot}/workers/maintenance.ts`], {});
    try {
      await worker.waitForLine((l) => l.msg === "worker running" && l.worker === "maintenance");
      await waitFor(async () => (await readStream(stream)).length === 1, "the stream trim");
      expect((await readStream(stream)).map((e) => e.id)).toEqual([recentEntry]);
      await waitFor(async () => (await readStream(dead)).length === 1, "the dead-letter trim");
      expect((await readStream(dead)).map((e) => e.id)).toEqual([keptDead]);
      await waitFor(
        async () => (await sql`select 1 from idempotency_keys where user_id = ${user.id}`).length === 1,
        "the key purge",
      );
      const left = await sql`select key from idempotency_keys where user_id = ${user.id}`;
      expect(left.map((r) => r.key)).toEqual(["live"]);

      worker.proc.kill("SIGTERM");
      expect(await worker.proc.exited).toBe(0);
    } finally {
      worker.proc.kill("SIGKILL");
    }
  }, 30_000);
});
