import { describe, expect, it } from "bun:test";
import path from "node:path";
import { sign } from "hono/jwt";
import { ensureAdmin } from "../../src/modules/auth/auth.service";
import { sql } from "../../src/platform/db";
import { adminToken, api, registerAndLogin, uniqueEmail } from "../support/http";

const SECRET = process.env.JWT_SECRET as string;
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");

describe("registration", () => {
  it("registers, logs in with a form and reads /users/me", async () => {
    const email = uniqueEmail("Round");
    const reg = await api("POST", "/api/v1/auth/register", {
      body: { email: email.toUpperCase(), password: "password-1", full_name: "Round Trip" },
    });
    expect(reg.status).toBe(201);
    expect(reg.body).toMatchObject({ email: email.toLowerCase(), full_name: "Round Trip", is_admin: false });
    expect(Object.keys(reg.body).sort()).toEqual(["created_at", "email", "full_name", "id", "is_admin"]);

    const login = await api("POST", "/api/v1/auth/token", { form: { username: email, password: "password-1" } });
    expect(login.status).toBe(200);
    expect(login.body.token_type).toBe("bearer");
    expect(login.body.expires_in).toBe(30 * 60);
    const me = await api("GET", "/api/v1/users/me", { token: login.body.access_token });
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(reg.body.id);
  });

  it("accepts a JSON login as well as a form login", async () => {
    const user = await registerAndLogin("json");
    const res = await api("POST", "/api/v1/auth/token", {
      body: { username: user.email, password: "correct-horse-1" },
    });
    expect(res.status).toBe(200);
    expect(typeof res.body.access_token).toBe("string");
  });

  it("refuses a duplicate e-mail in any letter case with 409 EMAIL_TAKEN", async () => {
    const email = uniqueEmail("dup");
    expect((await api("POST", "/api/v1/auth/register", { body: { email, password: "password-1" } })).status).toBe(201);
    const again = await api("POST", "/api/v1/auth/register", {
      body: { email: email.toUpperCase(), password: "password-2" },
    });
    expect(again.status).toBe(409);
    expect(again.headers.get("content-type")).toContain("application/problem+json");
    expect(again.body.code).toBe("EMAIL_TAKEN");
  });

  it("refuses a self-made admin with 403 and writes nothing", async () => {
    const email = uniqueEmail("sneaky");
    const res = await api("POST", "/api/v1/auth/register", { body: { email, password: "password-1", is_admin: true } });
    expect(res.status).toBe(403);
    const rows = await sql`select 1 from users where email = ${email}`;
    expect(rows.length).toBe(0);
  });

  it("lets an admin create another admin", async () => {
    const admin = await adminToken();
    const res = await api("POST", "/api/v1/auth/register", {
      token: admin.token,
      body: { email: uniqueEmail("second-admin"), password: "password-1", is_admin: true },
    });
    expect(res.status).toBe(201);
    expect(res.body.is_admin).toBe(true);
  });

  it("enforces the 8..72 byte password rule in bytes, not characters", async () => {
    const short = await api("POST", "/api/v1/auth/register", { body: { email: uniqueEmail(), password: "1234567" } });
    expect(short.status).toBe(422);
    expect(short.body.errors[0].field).toBe("json.password");
    // 25 three-byte characters = 75 bytes, though only 25 characters.
    const long = await api("POST", "/api/v1/auth/register", {
      body: { email: uniqueEmail(), password: "€".repeat(25) },
    });
    expect(long.status).toBe(422);
    const ok = await api("POST", "/api/v1/auth/register", { body: { email: uniqueEmail(), password: "€".repeat(24) } });
    expect(ok.status).toBe(201);
  });

  it("ignores unknown fields instead of writing them", async () => {
    const res = await api("POST", "/api/v1/auth/register", {
      body: { email: uniqueEmail(), password: "password-1", id: 999999, token_version: 5, hashed_password: "x" },
    });
    expect(res.status).toBe(201);
    expect(res.body.id).not.toBe(999999);
    const [row] = await sql`select token_version, hashed_password from users where id = ${res.body.id}`;
    expect(row?.tokenVersion).toBe(0);
    expect(row?.hashedPassword).toStartWith("$2");
  });
});

describe("the configured admin", () => {
  it("is created once, promoted if it exists, and keeps a changed password across restarts", async () => {
    const email = uniqueEmail("boss");
    expect(await ensureAdmin(email, "first-password-1", { resetPassword: false })).toBe("created");
    const login = await api("POST", "/api/v1/auth/token", { form: { username: email, password: "first-password-1" } });
    await api("PATCH", "/api/v1/users/me", {
      token: login.body.access_token,
      body: { password: "changed-password-1", current_password: "first-password-1" },
    });
    // A restart with the old ADMIN_PASSWORD in the environment changes nothing.
    expect(await ensureAdmin(email, "first-password-1", { resetPassword: false })).toBe("unchanged");
    const after = await api("POST", "/api/v1/auth/token", {
      form: { username: email, password: "changed-password-1" },
    });
    expect(after.status).toBe(200);
    // `bun run create-admin` is the explicit reset.
    expect(await ensureAdmin(email, "first-password-1", { resetPassword: true })).toBe("password reset");
    const reset = await api("POST", "/api/v1/auth/token", { form: { username: email, password: "first-password-1" } });
    expect(reset.status).toBe(200);
  });

  it("never promotes at start-up an account that cannot prove it is the operator's (issue 13.1)", async () => {
    // Someone registered ADMIN_EMAIL first, with a password of their own.
    const squatter = await registerAndLogin("squatter");
    expect(await ensureAdmin(squatter.email, "operator-password-1", { resetPassword: false })).toBe("refused");
    const me = await api("GET", "/api/v1/users/me", { token: squatter.token });
    expect(me.status).toBe(200);
    expect(me.body.is_admin).toBe(false);
  });

  it("promotes at start-up an account whose password is ADMIN_PASSWORD, and its older tokens stop working", async () => {
    const owner = await registerAndLogin("owner");
    expect(await ensureAdmin(owner.email, owner.password, { resetPassword: false })).toBe("promoted");
    expect((await api("GET", "/api/v1/users/me", { token: owner.token })).status).toBe(401);
    const fresh = await api("POST", "/api/v1/auth/token", {
      form: { username: owner.email, password: owner.password },
    });
    expect((await api("GET", "/api/v1/users/me", { token: fresh.body.access_token })).body.is_admin).toBe(true);
  });

  it("lets `bun run create-admin` take an account over explicitly: new password, admin, old tokens refused", async () => {
    const taken = await registerAndLogin("taken");
    expect(await ensureAdmin(taken.email, "operator-password-2", { resetPassword: true })).toBe("password reset");
    expect((await api("GET", "/api/v1/users/me", { token: taken.token })).status).toBe(401);
    const login = await api("POST", "/api/v1/auth/token", {
      form: { username: taken.email, password: "operator-password-2" },
    });
    expect((await api("GET", "/api/v1/users/me", { token: login.body.access_token })).body.is_admin).toBe(true);
  });
});

describe("login", () => {
  it("answers unknown e-mail and wrong password with the same 401", async () => {
    const user = await registerAndLogin("enum");
    const wrong = await api("POST", "/api/v1/auth/token", { form: { username: user.email, password: "nope-nope-1" } });
    const unknown = await api("POST", "/api/v1/auth/token", {
      form: { username: uniqueEmail("ghost"), password: "nope-nope-1" },
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const strip = (b: Record<string, unknown>) => ({ ...b, request_id: undefined });
    expect(strip(wrong.body)).toEqual(strip(unknown.body));
  });

  it("takes about as long for an unknown e-mail as for a wrong password (bcrypt cost 10)", async () => {
    const proc = Bun.spawn([process.execPath, "tests/support/login-timing.ts"], {
      cwd: path.resolve(import.meta.dir, "../.."),
      // A timing measurement of the in-process app: never through the contract proxy.
      env: { ...process.env, BCRYPT_COST: "10", TEST_THROUGH_PRISM: "" },
      stdout: "pipe",
    });
    const { known, unknown } = JSON.parse(await new Response(proc.stdout).text());
    expect(await proc.exited).toBe(0);
    // Both pay one bcrypt compare (~tens of ms); without the dummy hash the unknown path takes ~1 ms.
    expect(unknown / known).toBeGreaterThan(0.5);
    expect(unknown / known).toBeLessThan(2);
  }, 30_000);
});

describe("tokens", () => {
  it("refuses a token signed with another key", async () => {
    const user = await registerAndLogin();
    const now = Math.floor(Date.now() / 1000);
    const forged = await sign(
      { sub: String(user.id), ver: 0, exp: now + 60 },
      "another-secret-another-secret-123456",
      "HS256",
    );
    expect((await api("GET", "/api/v1/users/me", { token: forged })).status).toBe(401);
  });

  it("refuses alg none", async () => {
    const user = await registerAndLogin();
    const token = `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: String(user.id), ver: 0, exp: 9_999_999_999 })}.`;
    expect((await api("GET", "/api/v1/users/me", { token })).status).toBe(401);
  });

  it("refuses a correctly signed token without exp", async () => {
    const user = await registerAndLogin();
    const token = await sign({ sub: String(user.id), ver: 0 }, SECRET, "HS256");
    const res = await api("GET", "/api/v1/users/me", { token });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe("UNAUTHORIZED");
  });

  it("refuses an expired token", async () => {
    const user = await registerAndLogin();
    const now = Math.floor(Date.now() / 1000);
    const token = await sign({ sub: String(user.id), ver: 0, iat: now - 120, exp: now - 60 }, SECRET, "HS256");
    expect((await api("GET", "/api/v1/users/me", { token })).status).toBe(401);
  });

  it("refuses a token that worked a moment ago once its exp has passed", async () => {
    const user = await registerAndLogin();
    const now = Math.floor(Date.now() / 1000);
    const token = await sign({ sub: String(user.id), ver: 0, iat: now, exp: now + 1 }, SECRET, "HS256");
    expect((await api("GET", "/api/v1/users/me", { token })).status).toBe(200);
    await Bun.sleep((now + 1) * 1000 - Date.now() + 50);
    expect((await api("GET", "/api/v1/users/me", { token })).status).toBe(401);
  });

  it("refuses a request with no token on a protected route with 401 and WWW-Authenticate", async () => {
    const res = await api("GET", "/api/v1/users/me");
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe("Bearer");
  });

  it("stops accepting old tokens after a password change", async () => {
    const user = await registerAndLogin("rotate");
    const change = await api("PATCH", "/api/v1/users/me", {
      token: user.token,
      body: { password: "brand-new-pass-1", current_password: "correct-horse-1" },
    });
    expect(change.status).toBe(200);
    expect((await api("GET", "/api/v1/users/me", { token: user.token })).status).toBe(401);
    const login = await api("POST", "/api/v1/auth/token", {
      form: { username: user.email, password: "brand-new-pass-1" },
    });
    expect((await api("GET", "/api/v1/users/me", { token: login.body.access_token })).status).toBe(200);
  });
});
