import { describe, expect, it } from "bun:test";
import { createEventlyClient } from "@evently/client";
import { renderSchema, SCHEMA_FILE } from "../../packages/client/generate";
import { createEvent } from "../support/fixtures";
import { adminToken, app, client, clientAs, expectData, registerAndLogin } from "../support/http";

describe("the typed client (packages/client)", () => {
  it("is generated from the current document: run `bun run client:generate` when this fails", async () => {
    const committed = await Bun.file(SCHEMA_FILE).text();
    expect(committed === (await renderSchema())).toBe(true);
  });

  it("reads a seat's change in the compact status vector after a booking", async () => {
    const admin = await adminToken();
    const user = await registerAndLogin("vector");
    const event = await createEvent(admin.token, { capacity: 5 });
    const before = expectData(
      await client.GET("/api/v1/events/{id}/seat-status", { params: { path: { id: event.id } } }),
      "seat status",
    );
    expect(before).toEqual({ event_id: event.id, capacity: 5, available: 5, held: 0, booked: 0, statuses: "AAAAA" });
    const booked = await clientAs(user.token).POST("/api/v1/events/{id}/book/{seat_number}", {
      params: { path: { id: event.id, seat_number: 3 } },
    });
    expect(booked.response.status).toBe(201);
    const after = await client.GET("/api/v1/events/{id}/seat-status", { params: { path: { id: event.id } } });
    expect(after.data).toMatchObject({ available: 4, booked: 1, statuses: "AABAA" });
  });

  it("gives documented problems as typed errors", async () => {
    const missing = await client.GET("/api/v1/events/{id}/seat-status", { params: { path: { id: 987_654 } } });
    expect(missing.response.status).toBe(404);
    expect(missing.error).toMatchObject({ status: 404, code: "EVENT_NOT_FOUND" });
    const anonymous = await client.GET("/api/v1/users/me");
    expect(anonymous.error).toMatchObject({ status: 401, code: "UNAUTHORIZED" });
  });

  it("sends the token it is given on every request", async () => {
    const user = await registerAndLogin("bearer");
    let token: string | null = null;
    const signedIn = createEventlyClient({
      baseUrl: "http://evently.test",
      fetch: async (request) => app.request(request),
      token: () => token,
    });
    expect((await signedIn.GET("/api/v1/users/me")).response.status).toBe(401);
    token = user.token;
    expect((await signedIn.GET("/api/v1/users/me")).data).toMatchObject({ id: user.id });
  });
});
