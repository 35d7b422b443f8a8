import { createRouter } from "../../http/router";
import * as handlers from "./users.handlers";
import * as routes from "./users.routes";

// /users/me is registered before /users/{id} so "me" is never read as an id.
export const usersRouter = createRouter()
  .openapi(routes.getMe, handlers.handleGetMe)
  .openapi(routes.patchMe, handlers.handlePatchMe)
  .openapi(routes.listUsersRoute, handlers.handleListUsers)
  .openapi(routes.getUserById, handlers.handleGetUser);
