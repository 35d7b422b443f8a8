import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { type Browser, chromium } from "playwright-core";
import { repoRoot } from "./processes";

/** Debian's Chromium (`apt-get install -y chromium`; .ci/run installs it). No browser download. */
export const CHROMIUM = "/usr/bin/chromium";

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

/** Builds the dashboard when dist/ is missing (a clone whose install skipped scripts). */
export function ensureDashboardBuilt(): void {
  if (existsSync(path.join(repoRoot, "packages/dashboard/dist/index.html"))) return;
  const build = Bun.spawnSync([process.execPath, "run", "build"], { cwd: repoRoot, stdout: "pipe", stderr: "pipe" });
  if (build.exitCode !== 0) throw new Error(`bun run build failed:\n${build.stderr.toString()}`);
}

/**
 * Where screenshots go: docs/screenshots/ with UPDATE_SCREENSHOTS=1 (the README shows those),
 * else a scratch folder, so an ordinary test run never changes tracked files.
 */
export function screenshotDir(): string {
  const dir =
    process.env.UPDATE_SCREENSHOTS === "1"
      ? path.join(repoRoot, "docs/screenshots")
      : path.join(repoRoot, "tmp/screenshots");
  mkdirSync(dir, { recursive: true });
  return dir;
}
