import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { type NotificationPayload, Streams } from "../../src/messaging/catalog";
import { writeOutbox } from "../../src/messaging/outbox";
import { publish, readStream } from "../../src/messaging/streams";
import { sql } from "../../src/platform/db";
import { redis, waitForRedis } from "../../src/platform/redis";
import { repoRoot, type Spawned, spawnLogged } from "../support/processes";
import { waitFor } from "../support/wait";

/** A local stand-in for Mailgun's HTTP API that records every request it gets. */
interface MailgunCall {
  method: string;
  path: string;
  auth: string | null;
  contentType: string | null;
  form: Record<string, string>;
}
const calls: MailgunCall[] = [];
const attemptsTo = new Map<string, number>();
const mailgun = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch: async (req) => {
    const form = Object.fromEntries(new URLSearchParams(await req.text()));
    calls.push({
      method: req.method,
      path: new URL(req.url).pathname,
      auth: req.headers.get("authorization"),
      contentType: req.headers.get("content-type"),
      form,
    });
    const to = form.to ?? "";
    const attempt = (attemptsTo.get(to) ?? 0) + 1;
    attemptsTo.set(to, attempt);
    if (to.startsWith("flaky") && attempt === 1) return Response.json({ message: "try later" }, { status: 500 });
    if (to.startsWith("refused")) return Response.json({ message: "'to' parameter is not valid" }, { status: 400 });
    return Response.json({ id: `<${calls.length}@mg.example.test>`, message: "Queued. Thank you." });
  },
});

const mailgunEnv = {
  MAILGUN_API_KEY: "key-test-123",
  MAILGUN_DOMAIN: "mg.example.test",
  MAILGUN_BASE_URL: `http://127.0.0.1:${mailgun.port}`,
  STREAM_RETRY_DELAY_MS: "100",
};

beforeAll(() => waitForRedis(5_000));
afterAll(() => mailgun.stop(true));

let seq = 0;
function notification(to: string, extra: Partial<NotificationPayload> = {}): NotificationPayload {
  seq++;
  return {
    to,
    subject: `Subject ${seq}`,
    text: `Body ${seq}`,
    kind: "waitlist_offer",
    dedupe_key: `test-${seq}`,
    ...extra,
  };
}

async function withNotifier(env: Record<string, string>, body: (worker: Spawned) => Promise<void>): Promise<void> {
  const worker = spawnLogged([process.execPath, `${repoRoot}/workers/notifier.ts`], env);
  try {
    await worker.waitForLine((l) => l.msg === "worker running");
    await body(worker);
    worker.proc.kill("SIGTERM");
    expect(await worker.proc.exited).toBe(0);
  } finally {
    worker.proc.kill("SIGKILL");
  }
}

const callsTo = (to: string) => calls.filter((c) => c.form.to === to);
const pending = async () => Number(((await redis.xpending(Streams.notifications, "notifier")) as any)[0]);

describe("notifier worker", () => {
  it("e-mails an outbox notification through Mailgun's API with basic auth and form fields", async () => {
    const n = notification("alice@example.test");
    await sql.begin((tx) => writeOutbox(tx, [{ stream: Streams.notifications, payload: n }]));
    await withNotifier(mailgunEnv, async (worker) => {
      await waitFor(() => callsTo(n.to).length === 1, "the Mailgun request");
      const [call] = callsTo(n.to);
      expect(call).toMatchObject({ method: "POST", path: "/v3/mg.example.test/messages" });
      expect(call?.auth).toBe(`Basic ${Buffer.from("api:key-test-123").toString("base64")}`);
      expect(call?.contentType).toStartWith("application/x-www-form-urlencoded");
      expect(call?.form).toEqual({
        from: "Evently <no-reply@mg.example.test>",
        to: n.to,
        subject: n.subject,
        text: n.text,
      });
      const sent = await worker.waitForLine((l) => l.msg === "notification e-mailed");
      expect(sent).toMatchObject({ dedupe_key: n.dedupe_key, mailgun_id: expect.stringContaining("@mg.example.test") });
      expect(JSON.stringify(worker.lines)).not.toContain("key-test-123");
      await waitFor(async () => (await pending()) === 0, "the ack");
    });
  }, 30_000);

  it("retries after a 500 from Mailgun and then succeeds", async () => {
    const n = notification("flaky@example.test");
    await withNotifier(mailgunEnv, async (worker) => {
      await publish(Streams.notifications, n);
      await waitFor(() => callsTo(n.to).length === 2, "the retry");
      await worker.waitForLine((l) => l.msg === "notification e-mailed" && l.dedupe_key === n.dedupe_key);
      const retry = await worker.waitForLine((l) => l.msg === "stream handler failed; will retry");
      expect(retry.err).toContain("500");
      await waitFor(async () => (await pending()) === 0, "the ack");
      expect(callsTo(n.to).length).toBe(2);
    });
    const dead = await readStream("notifications.dead");
    expect(dead.some((d) => d.fields.payload?.includes(n.to))).toBe(false);
  }, 30_000);

  it("sends a 400 from Mailgun to notifications.dead without retrying, and invalid payloads too", async () => {
    const refused = notification("refused@example.test");
    const invalid = notification("not-an-address");
    await withNotifier(mailgunEnv, async () => {
      await publish(Streams.notifications, refused);
      await publish(Streams.notifications, invalid);
      await waitFor(async () => (await readStream("notifications.dead")).length >= 2, "two dead letters");
      const dead = await readStream("notifications.dead");
      const refusedDead = dead.find((d) => d.fields.payload?.includes(refused.to));
      expect(refusedDead?.fields).toMatchObject({ reason: "permanent_error", deliveries: "1", group: "notifier" });
      expect(refusedDead?.fields.error).toContain("400");
      expect(dead.find((d) => d.fields.payload?.includes(invalid.to))?.fields.reason).toBe("malformed");
      expect(callsTo(refused.to).length).toBe(1);
      expect(callsTo(invalid.to).length).toBe(0);
      await waitFor(async () => (await pending()) === 0, "the acks");
    });
  }, 30_000);

  it("sends a notification once when its entry is delivered twice with the same dedupe_key", async () => {
    const n = notification("bob@example.test");
    await withNotifier(mailgunEnv, async (worker) => {
      await publish(Streams.notifications, n, { outboxId: 501 });
      await publish(Streams.notifications, n, { outboxId: 501 }); // the relay re-published the row
      await publish(Streams.notifications, { ...n, subject: "Same key, later" });
      await waitFor(
        () => worker.lines.filter((l) => l.msg === "notification already sent; skipped").length === 2,
        "the skips",
      );
      await waitFor(async () => (await pending()) === 0, "the acks");
      expect(callsTo(n.to).length).toBe(1);
    });
  }, 30_000);

  it("only logs the message when Mailgun is not configured, and shows its text at debug level only", async () => {
    const n = notification("carol@example.test");
    const before = calls.length;
    const env = { MAILGUN_API_KEY: "", MAILGUN_DOMAIN: "", STREAM_RETRY_DELAY_MS: "100", LOG_LEVEL: "debug" };
    await withNotifier(env, async (worker) => {
      await publish(Streams.notifications, n);
      const logged = await worker.waitForLine((l) => l.msg?.startsWith("notification (Mailgun not configured"));
      expect(logged).toMatchObject({ to: n.to, subject: n.subject, text: n.text, kind: n.kind, level: 20 });
      await waitFor(async () => (await pending()) === 0, "the ack");
    });
    expect(calls.length).toBe(before);
  }, 30_000);

  it("never logs a recipient or a message text at the default level (issue 13.13)", async () => {
    const mailed = notification("dave@example.test");
    const logged = notification("erin@example.test");
    const secretsOf = (n: typeof mailed) => [n.to, n.text, n.subject];
    const lines: Record<string, unknown>[] = [];
    await withNotifier(mailgunEnv, async (worker) => {
      await publish(Streams.notifications, mailed);
      await waitFor(() => callsTo(mailed.to).length === 1, "the Mailgun call");
      await waitFor(async () => (await pending()) === 0, "the ack");
      lines.push(...worker.lines);
    });
    await withNotifier({ MAILGUN_API_KEY: "", MAILGUN_DOMAIN: "", STREAM_RETRY_DELAY_MS: "100" }, async (worker) => {
      await publish(Streams.notifications, logged);
      await worker.waitForLine((l) => l.msg === "notification not sent: Mailgun not configured");
      lines.push(...worker.lines);
    });
    const text = JSON.stringify(lines);
    for (const secret of [...secretsOf(mailed), ...secretsOf(logged)]) expect(text).not.toContain(secret);
    expect(lines.some((l) => l.msg === "notification e-mailed" && l.dedupe_key === mailed.dedupe_key)).toBe(true);
  }, 30_000);
});
