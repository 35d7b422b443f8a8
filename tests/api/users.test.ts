import { describe, expect, it } from "bun:test";
import { adminToken, api, registerAndLogin } from "../support/http";

describe("users", () => {
  it("lets a user read their own record and not someone else's", async () => {
    const a = await registerAndLogin("a");
    const b = await registerAndLogin("b");
    expect((await api("GET", `/api/v1/users/${a.id}`, { token: a.token })).status).toBe(200);
    const other = await api("GET", `/api/v1/users/${b.id}`, { token: a.token });
    expect(other.status).toBe(403);
    expect(other.body.code).toBe("FORBIDDEN");
  });

  it("lets an admin read any user, and answers 404 for a missing one", async () => {
    const admin = await adminToken();
    const u = await registerAndLogin();
    const res = await api("GET", `/api/v1/users/${u.id}`, { token: admin.token });
    expect(res.status).toBe(200);
    expect(res.body.email).toBe(u.email);
    expect((await api("GET", "/api/v1/users/987654321", { token: admin.token })).status).toBe(404);
  });

  it("rejects a non-numeric user id with 422", async () => {
    const u = await registerAndLogin();
    const res = await api("GET", "/api/v1/users/abc", { token: u.token });
    expect(res.status).toBe(422);
    expect(res.body.errors[0].field).toBe("param.id");
  });

  it("lists users for admins only, paginated, with X-Total-Count", async () => {
    const admin = await adminToken();
    await registerAndLogin();
    await registerAndLogin();
    const page = await api("GET", "/api/v1/users?limit=2&offset=0", { token: admin.token });
    expect(page.status).toBe(200);
    expect(page.body.length).toBe(2);
    expect(Number(page.headers.get("x-total-count"))).toBeGreaterThanOrEqual(3);
    const next = await api("GET", "/api/v1/users?limit=2&offset=2", { token: admin.token });
    expect(next.body[0]?.id).not.toBe(page.body[0].id);
    const user = await registerAndLogin();
    expect((await api("GET", "/api/v1/users", { token: user.token })).status).toBe(403);
    expect((await api("GET", "/api/v1/users?limit=500", { token: admin.token })).status).toBe(422);
  });

  it("updates full_name, and changes the password only with the current one", async () => {
    const u = await registerAndLogin();
    const renamed = await api("PATCH", "/api/v1/users/me", {
      token: u.token,
      body: { full_name: "New Name", is_admin: true },
    });
    expect(renamed.status).toBe(200);
    expect(renamed.body.full_name).toBe("New Name");
    expect(renamed.body.is_admin).toBe(false);
    const noCurrent = await api("PATCH", "/api/v1/users/me", { token: u.token, body: { password: "another-pass-1" } });
    expect(noCurrent.status).toBe(403);
    expect(noCurrent.body.code).toBe("WRONG_PASSWORD");
    const wrong = await api("PATCH", "/api/v1/users/me", {
      token: u.token,
      body: { password: "another-pass-1", current_password: "not-it-at-all" },
    });
    expect(wrong.status).toBe(403);
    const login = await api("POST", "/api/v1/auth/token", { form: { username: u.email, password: "correct-horse-1" } });
    expect(login.status).toBe(200);
  });
});
