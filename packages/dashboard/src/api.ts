import { createEventlyClient, type EventlyClient, logIn, type Problem, type Schemas } from "@evently/client";

/**
 * The dashboard talks to the API that served it, through the typed client, with the token of the
 * signed-in admin (kept for this browser tab only).
 */
const TOKEN_KEY = "evently.admin.token";

export type { Schemas };
export type EventDto = Schemas["Event"];
export type SeatStatusVector = Schemas["SeatStatusVector"];

export const session = {
  get token(): string | null {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set token(value: string | null) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
};

export const api: EventlyClient = createEventlyClient({ baseUrl: "", token: () => session.token });

/** Thrown for any problem+json answer; `detail` is written for people. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Partial<Problem> | undefined,
  ) {
    super(problem?.detail ?? `The API answered ${status}.`);
  }
}

/** The data of a successful answer, else an ApiError (a 401 also ends the session). */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.response.ok && result.error === undefined) return result.data as T;
  if (result.response.status === 401) {
    session.token = null;
    window.dispatchEvent(new Event("evently:signed-out"));
  }
  throw new ApiError(result.response.status, result.error as Partial<Problem> | undefined);
}

export type SignInResult = { ok: true; user: Schemas["User"] } | { ok: false; message: string };

/** Signs in through the normal token endpoint; only admins are let in. */
export async function signIn(email: string, password: string): Promise<SignInResult> {
  const login = await logIn(api, email, password);
  if (!login.data) {
    const problem = login.error as Partial<Problem> | undefined;
    return { ok: false, message: problem?.detail ?? "Sign-in failed." };
  }
  const me = await api.GET("/api/v1/users/me", {
    headers: { authorization: `Bearer ${login.data.access_token}` },
  });
  if (!me.data) return { ok: false, message: "Could not read this account." };
  if (!me.data.is_admin) {
    return { ok: false, message: "This account is not an admin. The dashboard is for admins only." };
  }
  session.token = login.data.access_token;
  return { ok: true, user: me.data };
}

export function signOut(): void {
  session.token = null;
  window.dispatchEvent(new Event("evently:signed-out"));
}
