import { currentUser } from "../../http/auth";
import { fingerprint, refusalFrom } from "../../http/idempotency";
import type { AppRouteHandler } from "../../http/router";
import type * as routes from "./holds.routes";
import type { HoldDto } from "./holds.schemas";
import * as service from "./holds.service";

export const handleCreate: AppRouteHandler<typeof routes.createHoldRoute> = async (c) => {
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  const request =
    "seat_numbers" in body
      ? { seatNumbers: body.seat_numbers }
      : { quantity: body.quantity, together: body.together ?? false };
  const stored = await service.createHold(currentUser(c), id, request, {
    idempotencyKey: c.req.valid("header")["idempotency-key"],
    fingerprint: fingerprint(["hold", id, request]),
  });
  // A replayed refusal is thrown again; a replayed success is marked with Idempotent-Replayed.
  const refusal = refusalFrom(stored);
  if (refusal) throw refusal;
  if (stored.replayed) c.header("Idempotent-Replayed", "true");
  return c.json(stored.body as HoldDto, 201);
};

export const handleGet: AppRouteHandler<typeof routes.getHoldRoute> = async (c) => {
  return c.json(await service.getHold(currentUser(c), c.req.valid("param").token), 200);
};

export const handleExtend: AppRouteHandler<typeof routes.extendHoldRoute> = async (c) => {
  return c.json(await service.extendHold(currentUser(c), c.req.valid("param").token), 200);
};

export const handleRelease: AppRouteHandler<typeof routes.releaseHoldRoute> = async (c) => {
  await service.releaseHold(currentUser(c), c.req.valid("param").token);
  return c.body(null, 204);
};

export const handleConfirm: AppRouteHandler<typeof routes.confirmHoldRoute> = async (c) => {
  return c.json(await service.confirmHold(currentUser(c), c.req.valid("param").token), 201);
};
