import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { uniqueEmail } from "../support/http";
import { type ApiGroup, startApiProcesses } from "../support/processes";

/** Revocation must reach every API process before the change that caused it is answered (issue 13.3). */
let group: ApiGroup;
beforeAll(async () => {
  group = await startApiProcesses(2);
});
afterAll(async () => {
  await group?.stop();
});

const call = (method: string, path: string, token: string, body?: unknown) =>
  fetch(`${group.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

async function newUser(): Promise<{ email: string; token: string }> {
  const email = uniqueEmail("revoked");
  const password = "correct-horse-1";
  const post = (path: string, body: unknown) =>
    fetch(`${group.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  expect((await post("/api/v1/auth/register", { email, password })).status).toBe(201);
  const login = (await (await post("/api/v1/auth/token", { username: email, password })).json()) as {
    access_token: string;
  };
  return { email, token: login.access_token };
}

/** Statuses of `n` parallel GET /users/me: reusePort spreads them over both processes. */
async function whoAmI(token: string, n = 60): Promise<number[]> {
  return Promise.all(Array.from({ length: n }, async () => (await call("GET", "/api/v1/users/me", token)).status));
}

describe("token revocation across API processes", () => {
  it("refuses the old token on every process as soon as a password change has been answered", async () => {
    const user = await newUser();
    expect(new Set(await whoAmI(user.token))).toEqual(new Set([200])); // both processes now know the user
    const change = await call("PATCH", "/api/v1/users/me", user.token, {
      password: "changed-horse-2",
      current_password: "correct-horse-1",
    });
    expect(change.status).toBe(200);
    expect(new Set(await whoAmI(user.token))).toEqual(new Set([401]));
  });
});
