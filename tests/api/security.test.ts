import { describe, expect, it } from "bun:test";
import bcrypt from "bcryptjs";
import { sign } from "hono/jwt";
import { parseConfig } from "../../src/config";
import { sql } from "../../src/platform/db";
import { hashPassword } from "../../src/platform/passwords";
import { api, registerAndLogin, uniqueEmail } from "../support/http";
import { startApiProcesses } from "../support/processes";

const SECRET = process.env.JWT_SECRET as string;

describe("passwords", () => {
  it("refuses a login password longer than 72 bytes even when its first 72 bytes are right", async () => {
    const email = uniqueEmail("long");
    const password = `${"p".repeat(70)}1!`; // exactly 72 bytes
    expect((await api("POST", "/api/v1/auth/register", { body: { email, password } })).status).toBe(201);
    expect((await api("POST", "/api/v1/auth/token", { form: { username: email, password } })).status).toBe(200);
    // bcrypt reads 72 bytes only: without our check this would log in.
    const longer = await api("POST", "/api/v1/auth/token", { form: { username: email, password: `${password}x` } });
    expect(longer.status).toBe(401);
    expect(longer.body.code).toBe("INVALID_CREDENTIALS");
  });

  it("refuses a new password over 72 bytes on PATCH /users/me too", async () => {
    const user = await registerAndLogin("patch-long");
    const res = await api("PATCH", "/api/v1/users/me", {
      token: user.token,
      body: { password: "x".repeat(73), current_password: "correct-horse-1" },
    });
    expect(res.status).toBe(422);
  });

  it("hashes with the configured bcrypt cost, which production never lets drop below 10", async () => {
    const hash = await hashPassword("password-1");
    expect(bcrypt.getRounds(hash)).toBe(Number(process.env.BCRYPT_COST));
    const prod = { NODE_ENV: "production", JWT_SECRET: "p".repeat(40) };
    expect(parseConfig(prod).BCRYPT_COST).toBe(10);
    expect(() => parseConfig({ ...prod, BCRYPT_COST: "9" })).toThrow(/BCRYPT_COST/);
  });
});

describe("tokens", () => {
  it("refuses a token signed with the right secret but another algorithm (HS256 is pinned)", async () => {
    const user = await registerAndLogin("alg");
    const now = Math.floor(Date.now() / 1000);
    const token = await sign({ sub: String(user.id), ver: 0, iat: now, exp: now + 60 }, SECRET, "HS512");
    expect((await api("GET", "/api/v1/users/me", { token })).status).toBe(401);
  });

  it("refuses the token of a deleted user", async () => {
    const user = await registerAndLogin("deleted");
    await sql`update users set deleted_at = now() where id = ${user.id}`;
    expect((await api("GET", "/api/v1/users/me", { token: user.token })).status).toBe(401);
  });

  it("issues tokens that carry exp, iat and a version, and nothing about the password", async () => {
    const user = await registerAndLogin("claims");
    const payload = JSON.parse(Buffer.from(user.token.split(".")[1] as string, "base64url").toString());
    expect(Object.keys(payload).sort()).toEqual(["exp", "iat", "sub", "ver"]);
    expect(payload.exp - payload.iat).toBe(30 * 60);
  });
});

describe("mass assignment and enumeration", () => {
  it("ignores is_admin, email and id sent to PATCH /users/me", async () => {
    const user = await registerAndLogin("mass");
    const res = await api("PATCH", "/api/v1/users/me", {
      token: user.token,
      body: { full_name: "Still Me", is_admin: true, email: "boss@example.test", id: 1, token_version: 9 },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: user.id, email: user.email, full_name: "Still Me", is_admin: false });
    const [row] = await sql`select is_admin, email, token_version from users where id = ${user.id}`;
    expect(row).toEqual({ isAdmin: false, email: user.email, tokenVersion: 0 });
  });

  it("answers a non-admin the same 403 for another user's id whether it exists or not", async () => {
    const me = await registerAndLogin("curious");
    const other = await registerAndLogin("other");
    const existing = await api("GET", `/api/v1/users/${other.id}`, { token: me.token });
    const missing = await api("GET", "/api/v1/users/987654321", { token: me.token });
    expect([existing.status, missing.status]).toEqual([403, 403]);
    expect({ ...existing.body, request_id: 0 }).toEqual({ ...missing.body, request_id: 0 });
  });
});

describe("logs", () => {
  it("never contain passwords, tokens or the JWT secret, even at trace level", async () => {
    const group = await startApiProcesses(1, { LOG_LEVEL: "trace" });
    const email = uniqueEmail("logged");
    const secrets = ["first-secret-pass-1", "second-secret-pass-2", "wrong-secret-pass-3"];
    let token = "";
    let stderr = "";
    try {
      const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
        fetch(`${group.url}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: JSON.stringify(body),
        });
      expect((await post("/api/v1/auth/register", { email, password: secrets[0] })).status).toBe(201);
      await fetch(`${group.url}/api/v1/auth/token?password=${secrets[2]}`, {
        method: "POST",
        body: new URLSearchParams({ username: email, password: secrets[2] as string }),
      });
      const login = await fetch(`${group.url}/api/v1/auth/token`, {
        method: "POST",
        body: new URLSearchParams({ username: email, password: secrets[0] as string }),
      });
      token = ((await login.json()) as { access_token: string }).access_token;
      const patch = await fetch(`${group.url}/api/v1/users/me`, {
        method: "PATCH",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ password: secrets[1], current_password: secrets[0] }),
      });
      expect(patch.status).toBe(200);
      await fetch(`${group.url}/api/v1/users/me`, { headers: { authorization: `Bearer ${token}` } });
      await Bun.sleep(200);
    } finally {
      await group.stop();
      stderr = await new Response(group.procs[0]?.proc.stderr).text();
    }
    const lines = group.procs[0]?.lines ?? [];
    expect(lines.filter((l) => l.msg === "request").length).toBeGreaterThanOrEqual(5);
    const everything = `${lines.map((l) => JSON.stringify(l)).join("\n")}\n${stderr}`;
    for (const secret of [...secrets, SECRET, token, (token.split(".")[2] as string) ?? ""]) {
      expect(secret.length).toBeGreaterThan(10);
      expect(everything).not.toContain(secret);
    }
  }, 30_000);
});
