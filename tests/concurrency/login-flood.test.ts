import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createEvent } from "../support/fixtures";
import { adminToken, manyUsers, uniqueEmail } from "../support/http";
import { type ApiGroup, startApiProcesses } from "../support/processes";

// Production's cost: one hash is ~80 ms of CPU here, so 300 of them are ~24 s of work.
let api: ApiGroup;
beforeAll(async () => {
  api = await startApiProcesses(1, { BCRYPT_COST: "10", PASSWORD_QUEUE_MAX: "32" });
});
afterAll(async () => {
  await api?.stop();
});

/** A wrong password for an unknown e-mail, from its own address (nginx's X-Forwarded-For). */
function badLogin(i: number, signal?: AbortSignal): Promise<Response> {
  return fetch(`${api.url}/api/v1/auth/token`, {
    method: "POST",
    headers: { "x-forwarded-for": `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}` },
    body: new URLSearchParams({ username: uniqueEmail("flood"), password: "wrong-password-1" }),
    signal,
  });
}

const elapsed = async (work: () => Promise<unknown>) => {
  const started = performance.now();
  await work();
  return performance.now() - started;
};

describe("bcrypt under a flood of logins", () => {
  it("books a seat in under 1 s during 300 simultaneous bad logins from 300 addresses; the excess gets 503 + Retry-After", async () => {
    const admin = await adminToken();
    const event = await createEvent(admin.token, { capacity: 5 });
    const [buyer] = await manyUsers(1, "flood-buyer");

    const logins = Array.from({ length: 300 }, (_, i) =>
      badLogin(i).then(async (res) => ({
        status: res.status,
        retryAfter: res.headers.get("retry-after"),
        body: (await res.json()) as { code?: string },
      })),
    );
    await Bun.sleep(300); // the logins have arrived and the queue is full
    let status = 0;
    const bookingMs = await elapsed(async () => {
      const res = await fetch(`${api.url}/api/v1/events/${event.id}/book/1`, {
        method: "POST",
        headers: { authorization: `Bearer ${buyer?.token}` },
      });
      status = res.status;
    });
    expect(status).toBe(201);
    expect(bookingMs).toBeLessThan(1_000);

    const results = await Promise.all(logins);
    const refused = results.filter((r) => r.status === 503);
    const checked = results.filter((r) => r.status === 401);
    expect(refused.length + checked.length).toBe(300);
    // The bound (32 waiting + 1 running), plus the few whose turn came while the burst arrived.
    expect(checked.length).toBeGreaterThanOrEqual(33);
    expect(checked.length).toBeLessThanOrEqual(60);
    for (const r of refused) {
      expect(r.retryAfter).toMatch(/^[1-9]\d*$/);
      expect(r.body.code).toBe("SERVICE_UNAVAILABLE");
    }
  }, 60_000);

  it("drops queued hashes whose client gave up, so the next login does not wait for them", async () => {
    // 30 logins queue up (~2.4 s of hashing); their clients disconnect almost at once.
    const gaveUp = new AbortController();
    const abandoned = Array.from({ length: 30 }, (_, i) => badLogin(1_000 + i, gaveUp.signal).catch(() => undefined));
    await Bun.sleep(150);
    gaveUp.abort();
    await Promise.all(abandoned);
    await Bun.sleep(50);
    const nextMs = await elapsed(async () => expect((await badLogin(2_000)).status).toBe(401));
    // One hash that was already running, plus this one: far from thirty.
    expect(nextMs).toBeLessThan(800);
  }, 60_000);
});
