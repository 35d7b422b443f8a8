import { createRouter } from "../../http/router";
import * as handlers from "./auth.handlers";
import * as routes from "./auth.routes";

export const authRouter = createRouter()
  .openapi(routes.register, handlers.handleRegister)
  .openapi(routes.token, handlers.handleToken);
