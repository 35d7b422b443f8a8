import type Redis from "ioredis";
import { decodeValue, type StoredValue } from "./cache-keys";

/**
 * Stampede protection, the waiting side: another process holds the rebuild lock of a value, so
 * poll (5 → 100 ms back-off) for what it stores. Undefined when it gave up (lock gone without a
 * value), lost a race with an invalidation, or took longer than `waitMs`. Throws on Redis errors.
 */
export async function waitForBuilder(
  client: Redis,
  valueKey: string,
  lockKey: string,
  version: string,
  waitMs: number,
): Promise<StoredValue | undefined> {
  const deadline = Date.now() + waitMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    await Bun.sleep(Math.min(delay, left));
    const [raw, holder] = await client.mget(valueKey, lockKey);
    const stored = raw ? decodeValue(raw) : undefined;
    if (stored && stored.version === version) return stored;
    if (!holder) return undefined;
  }
}
