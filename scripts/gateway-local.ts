import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { config } from "../src/config";
import { errorMessage } from "../src/platform/error-message";
import { logger } from "../src/platform/logger";
import { stopWithGrace } from "../src/platform/stop-process";
import { findNginx, renderLocalNginxConf, repoRoot } from "./lib/nginx-local";

/**
 * `bun run gateway:local`: the real gateway rules (nginx.conf + nginx/) in front of the local
 * API, as an ordinary user, in the foreground: nginx on GATEWAY_PORT, upstream 127.0.0.1:PORT,
 * everything nginx writes in a temp folder that is removed on exit. SIGTERM/SIGINT stop it.
 */
const nginx = findNginx();
if (!nginx) {
  logger.error("nginx not found: install it with `apt-get install -y nginx` (it is only run, never as a service)");
  process.exit(1);
}

const tempDir = await mkdtemp(path.join(os.tmpdir(), "evently-gateway-"));
// When started as root, nginx's workers run as `nobody` and must reach their temp folders.
await chmod(tempDir, 0o755);
const confPath = path.join(tempDir, "nginx.conf");
try {
  const template = await Bun.file(path.join(repoRoot, "nginx.conf")).text();
  const rendered = renderLocalNginxConf(template, {
    rulesDir: path.join(repoRoot, "nginx"),
    upstreamPort: config.PORT,
    listenPort: config.GATEWAY_PORT,
    tempDir,
  });
  await Bun.write(confPath, rendered);
} catch (err) {
  await rm(tempDir, { recursive: true, force: true });
  logger.error({ err: errorMessage(err) }, "could not render the local nginx config");
  process.exit(1);
}

// -e: errors before the config is read go to stderr, not to a root-owned /var/log/nginx.
const child = Bun.spawn([nginx, "-p", tempDir, "-c", confPath, "-e", "stderr"], {
  stdin: "ignore",
  stdout: "inherit",
  stderr: "inherit",
});
logger.info(
  {
    port: config.GATEWAY_PORT,
    upstream: `127.0.0.1:${config.PORT}`,
    nginx_pid: child.pid,
    temp_dir: tempDir,
    access_log: path.join(tempDir, "access.log"),
  },
  "gateway listening",
);

let stopping = false;
function stop(signal: string): void {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "gateway stopping");
  // QUIT: finish the requests in flight, then exit. TERM after 10 s if that takes too long.
  void stopWithGrace(child, 10_000, { signal: "SIGQUIT", force: "SIGTERM" });
}
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));

const code = await child.exited;
await rm(tempDir, { recursive: true, force: true });
if (!stopping) logger.error({ code }, "nginx exited on its own");
process.exit(stopping && code === 0 ? 0 : code || 1);
