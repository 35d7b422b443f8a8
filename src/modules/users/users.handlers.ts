import { currentUser } from "../../http/auth";
import { clientIp } from "../../http/client-ip";
import type { AppRouteHandler } from "../../http/router";
import type { getMe, getUserById, listUsersRoute, patchMe } from "./users.routes";
import { getUser, listAllUsers, updateMe } from "./users.service";

export const handleGetMe: AppRouteHandler<typeof getMe> = async (c) => {
  const user = currentUser(c);
  return c.json(await getUser(user, user.id), 200);
};

export const handlePatchMe: AppRouteHandler<typeof patchMe> = async (c) => {
  return c.json(await updateMe(currentUser(c), c.req.valid("json"), clientIp(c)), 200);
};

export const handleGetUser: AppRouteHandler<typeof getUserById> = async (c) => {
  return c.json(await getUser(currentUser(c), c.req.valid("param").id), 200);
};

export const handleListUsers: AppRouteHandler<typeof listUsersRoute> = async (c) => {
  const { limit, offset } = c.req.valid("query");
  const { users, total } = await listAllUsers(limit, offset);
  c.header("X-Total-Count", String(total));
  return c.json(users, 200);
};
