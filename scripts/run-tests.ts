import os from "node:os";
import path from "node:path";
import { Glob } from "bun";
import Redis from "ioredis";
import { redisKeyPrefixFor } from "../tests/support/test-env";

/**
 * Runs every test file in its own `bun test` process (so each gets its own database and Redis
 * prefix from tests/support/preload.ts), two at a time by default, and ends with one line
 * "N passed, N failed". Arguments filter files by substring.
 */
const root = path.resolve(import.meta.dir, "..");
const filters = process.argv.slice(2);
const files = [...new Glob("tests/**/*.test.ts").scanSync({ cwd: root })]
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
const parallel = Number(process.env.TEST_PARALLEL ?? Math.max(1, Math.min(2, os.availableParallelism())));

let passed = 0;
let started = 0;
let failed = 0;
const failedFiles: string[] = [];
/** Per failed file, the lines that say why (an assertion's diff too), repeated at the end so the tail of the log shows them. */
const reasons: string[] = [];

async function runFile(file: string): Promise<void> {
  const tag = `${process.pid}_${++started}`;
  const proc = Bun.spawn([process.execPath, "test", file], {
    cwd: root,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, TEST_FILE_TAG: tag },
  });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  await dropLeftoverKeys(tag);
  const text = `${out}\n${err}`;
  const pass = Number(/^\s*(\d+) pass$/m.exec(text)?.[1] ?? 0);
  let fail = Number(/^\s*(\d+) fail$/m.exec(text)?.[1] ?? 0);
  if (code !== 0 && fail === 0) fail = 1; // crashed before reporting
  passed += pass;
  failed += fail;
  process.stdout.write(`\n=== ${file}: ${pass} passed, ${fail} failed (exit ${code})\n`);
  if (code !== 0 || fail > 0) {
    failedFiles.push(file);
    process.stdout.write(text);
    const why = text
      .split("\n")
      .filter((l) => /\(fail\)|^error|Error:|Expected|Received|timed out|^\s+at .*tests\/|^\s*[-+] /.test(l))
      .slice(0, 40);
    reasons.push(`  ${file}\n${why.map((l) => `    ${l.trim()}`).join("\n")}`);
  } else {
    process.stdout.write(
      text
        .split("\n")
        .filter((l) => /^\s*\(pass\)|^\s*\(fail\)/.test(l))
        .join("\n"),
    );
    process.stdout.write("\n");
  }
}

/**
 * Keys the file's processes wrote under its prefix after its own cleanup (tests/support/preload.ts)
 * had run, e.g. by processes its afterAll stopped later. On the shared single Redis only; a
 * cluster run (TEST_REDIS_CLUSTER_NODES) keeps the preload's cleanup alone.
 */
async function dropLeftoverKeys(tag: string): Promise<void> {
  if (process.env.TEST_REDIS_CLUSTER_NODES) return;
  const redis = new Redis(process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0", {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
  });
  const pattern = `${redisKeyPrefixFor(tag)}*`;
  try {
    await redis.connect();
    for (let cursor = "0"; ; ) {
      const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
      if (cursor === "0") break;
    }
  } catch (err) {
    process.stdout.write(`(could not delete leftover Redis keys ${pattern}: ${String(err)})\n`);
  } finally {
    redis.disconnect();
  }
}

const queue = [...files];
await Promise.all(
  Array.from({ length: parallel }, async () => {
    for (let f = queue.shift(); f; f = queue.shift()) await runFile(f);
  }),
);
if (failedFiles.length > 0) process.stdout.write(`\nFailed files:\n${reasons.join("\n")}\n`);
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exit(failed > 0 || files.length === 0 ? 1 : 0);
