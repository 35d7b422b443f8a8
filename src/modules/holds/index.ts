import { createRouter } from "../../http/router";
import * as h from "./holds.handlers";
import * as routes from "./holds.routes";

export const holdsRouter = createRouter()
  .openapi(routes.createHoldRoute, h.handleCreate)
  .openapi(routes.getHoldRoute, h.handleGet)
  .openapi(routes.extendHoldRoute, h.handleExtend)
  .openapi(routes.releaseHoldRoute, h.handleRelease)
  .openapi(routes.confirmHoldRoute, h.handleConfirm);
