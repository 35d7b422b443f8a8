import { clientIp } from "../../http/client-ip";
import type { AppRouteHandler } from "../../http/router";
import { validationError } from "../../http/router";
import type { register, token } from "./auth.routes";
import { LoginSchema } from "./auth.schemas";
import { issueToken, registerUser } from "./auth.service";

export const handleRegister: AppRouteHandler<typeof register> = async (c) => {
  return c.json(await registerUser(c.req.valid("json"), c.get("user"), c.req.raw.signal), 201);
};

export const handleToken: AppRouteHandler<typeof token> = async (c) => {
  const isJson = (c.req.header("content-type") ?? "").includes("json");
  // A request with no body at all got `{}` from both validators: refuse it the same way.
  const parsed = LoginSchema.safeParse(isJson ? c.req.valid("json") : c.req.valid("form"));
  if (!parsed.success) throw validationError(parsed.error.issues, isJson ? "json" : "form");
  return c.json(await issueToken(parsed.data.username, parsed.data.password, clientIp(c), c.req.raw.signal), 200);
};
