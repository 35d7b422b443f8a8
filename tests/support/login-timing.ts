// Run as a child process with BCRYPT_COST=10 (production cost): prints median login times for a
// known e-mail with a wrong password and for an unknown e-mail, interleaved.
import { api, registerAndLogin, uniqueEmail } from "./http";

const user = await registerAndLogin("timing");
const ghost = uniqueEmail("ghost");
const once = async (username: string) => {
  const t = performance.now();
  await api("POST", "/api/v1/auth/token", { form: { username, password: "nope-nope-1" } });
  return performance.now() - t;
};
const known: number[] = [];
const unknown: number[] = [];
for (let i = 0; i < 9; i++) {
  known.push(await once(user.email));
  unknown.push(await once(ghost));
}
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
process.stdout.write(JSON.stringify({ known: median(known), unknown: median(unknown) }));
process.exit(0);
