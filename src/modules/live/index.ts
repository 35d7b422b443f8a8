import { createRouter } from "../../http/router";
import * as h from "./live.handlers";
import * as routes from "./live.routes";

export { closeLive } from "./live.service";

export const liveRouter = createRouter().openapi(routes.liveRoute, h.handleLive);
