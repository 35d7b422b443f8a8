import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  type ApiGroup,
  freePort,
  repoRoot,
  type Spawned,
  spawnLogged,
  startApiProcesses,
  stopProcess,
  waitForHttp,
} from "./processes";
import { testEnv } from "./test-env";

/**
 * Stoplight Prism as a validating proxy in front of a real API process: every answer the API
 * gives is checked against the OpenAPI document, and Prism lists what does not match in the
 * `sl-violations` header. Requests may break the document on purpose (tests send bad input);
 * answers may not.
 */
export interface ContractProxy {
  url: string;
  /** The API process itself, behind the proxy. */
  apiUrl: string;
  /** That process's metrics port (METRICS_PORT): its counters, not this test process's. */
  metricsUrl: string;
  stop(): Promise<void>;
}

export async function startContractProxy(document: string): Promise<ContractProxy> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "evently-prism-"));
  const file = path.join(dir, "openapi.json");
  await Bun.write(file, document);
  // Same Redis key prefix as this test file, so tests that look at Redis see the API's keys.
  const api: ApiGroup = await startApiProcesses(1, { REDIS_KEY_PREFIX: testEnv.REDIS_KEY_PREFIX as string });
  const port = freePort();
  let prism: Spawned | undefined;
  try {
    prism = spawnLogged(
      [
        process.execPath,
        path.join(repoRoot, "node_modules/.bin/prism"),
        "proxy",
        file,
        api.url,
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
        "--errors=false",
      ],
      {},
    );
    // Prism (Node) can take long to start on a loaded machine; the contract test allows 240 s a file.
    await waitForHttp(`http://127.0.0.1:${port}/health`, 90_000);
  } catch (err) {
    await Promise.all([stopProcess(prism), api.stop()]);
    throw err;
  }
  // A test process that exits without its afterAll (a crash, process.exit) leaves nothing behind.
  const spawned = [prism, ...api.procs];
  process.once("exit", () => {
    for (const p of spawned) if (p.proc.exitCode === null) p.proc.kill("SIGKILL");
  });
  return {
    url: `http://127.0.0.1:${port}`,
    apiUrl: api.url,
    metricsUrl: api.metricsUrl,
    stop: async () => {
      await Promise.all([stopProcess(prism), api.stop()]);
    },
  };
}

interface Violation {
  location: string[];
  severity: string;
  message: string;
}

/** The answer's mismatches with the document; request-side ones are left out. */
export function responseViolations(res: Response): Violation[] {
  const header = res.headers.get("sl-violations");
  if (!header) return [];
  return (JSON.parse(header) as Violation[]).filter((v) => v.location[0] === "response");
}
