import type { StoredValue } from "./keys";

/**
 * The in-process tier: recently used values, kept by Redis key. Whether a copy may be served is
 * decided elsewhere (coherence.ts vouches for it, or a version read from Redis matches it).
 * Bounded by entries and characters; least recently used entries go first.
 */
export class LocalTier {
  private readonly entries = new Map<string, StoredValue>();
  private chars = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxChars: number,
  ) {}

  get(key: string, now = Date.now()): StoredValue | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      this.delete(key);
      return undefined;
    }
    // Re-insert so Map order is least recently used first.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  set(key: string, entry: StoredValue): void {
    if (this.maxEntries <= 0 || entry.json.length > this.maxChars / 8) return;
    this.delete(key);
    this.entries.set(key, entry);
    this.chars += entry.json.length;
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries && this.chars <= this.maxChars) break;
      this.delete(oldest);
    }
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.chars -= entry.json.length;
  }

  clear(): void {
    this.entries.clear();
    this.chars = 0;
  }

  get size(): number {
    return this.entries.size;
  }
}
