import { afterAll, describe, expect, it } from "bun:test";
import { WORKERS } from "../../scripts/lib/children";
import { benchMemory, container, loadDeploy, type Manifest, mebibytes, memoryRequestFor } from "../support/kubernetes";
import { killPod, type Pod, startPod } from "../support/pod-sandbox";
import { freePort, waitForHttp } from "../support/processes";
import { testEnv } from "../support/test-env";

const withPassword = (url: string) => {
  const u = new URL(url);
  u.password = "pod-password";
  return u.toString();
};

// The containers of deploy/kubernetes/ run as their manifests say (command, environment, user,
// read-only root, probes, SIGTERM), in a sandbox standing in for a container runtime. The
// sandbox needs root, as CI has. (The gateway's nginx, a newer one than Debian's: the
// nginx -t check in kubernetes-config.test.ts.)
const asRoot = process.getuid?.() === 0;
const { named, api, job, configMap, secretTemplate } = await loadDeploy();
const secret = secretTemplate.doc.stringData as Record<string, string>;
const bench = await benchMemory();
const pods: Pod[] = [];
afterAll(async () => {
  await Promise.all(pods.map(killPod));
});

/** The container's environment as the kubelet builds it: envFrom in order, then env; the Secret filled in. */
function podEnv(m: Manifest, overrides: Record<string, string>): Record<string, string> {
  const filled: Record<string, string> = {
    ...secret,
    JWT_SECRET: "j".repeat(64),
    // Production refuses store URLs without a password; the test's stores ignore it (PostgreSQL's
    // trust auth, a Redis with no password, which ioredis only warns about).
    DATABASE_URL: withPassword(testEnv.DATABASE_URL as string),
    REDIS_URL: withPassword(testEnv.REDIS_URL as string),
  };
  const env: Record<string, string> = {};
  for (const from of container(m).envFrom) {
    if (from.configMapRef?.name === "evently-config") Object.assign(env, configMap);
    else if (from.secretRef?.name === "evently-secrets") Object.assign(env, filled);
    else throw new Error(`${m.file}: unexpected envFrom ${JSON.stringify(from)}`);
  }
  for (const e of container(m).env ?? []) env[e.name] = e.value;
  // Our own Redis keys, so this file's pods never meet another test's data.
  return { ...env, REDIS_KEY_PREFIX: `${testEnv.REDIS_KEY_PREFIX}pod:`, ...overrides };
}

async function run(m: Manifest, overrides: Record<string, string>): Promise<Pod> {
  const spec = m.doc.spec.template.spec;
  const pod = await startPod({
    command: container(m).command,
    env: podEnv(m, overrides),
    uid: spec.securityContext.runAsUser,
    gid: spec.securityContext.runAsGroup,
    writableTmp: container(m).volumeMounts?.some((v: { mountPath: string }) => v.mountPath === "/tmp") ?? false,
  });
  pods.push(pod);
  return pod;
}

const startupBudgetMs = (probe: { periodSeconds: number; failureThreshold: number }) =>
  probe.periodSeconds * probe.failureThreshold * 1000;
const sum = (rows: { mib: number }[]) => rows.reduce((n, r) => n + r.mib, 0);

describe.skipIf(!asRoot)("deploy/kubernetes: containers run as their manifests say", () => {
  it("the sandbox really is read-only, unprivileged and PID 1", async () => {
    const pod = await startPod({
      command: [
        "/bin/sh",
        "-c",
        "touch /mnt/app/x 2>/dev/null || echo read-only; touch /tmp/x && echo tmp-ok; id -u; echo pid $$",
      ],
      env: {},
      uid: 1000,
      gid: 1000,
      writableTmp: true,
    });
    pods.push(pod);
    expect(await pod.proc.exited).toBe(0);
    expect(pod.output().split("\n")).toEqual(["read-only", "tmp-ok", "1000", "pid 1", ""]);
  });

  it("the API answers its probes, fits its memory rule, and stops within its grace period on SIGTERM", async () => {
    const c = container(api);
    const port = freePort();
    const pod = await run(api, { PORT: String(port) });
    const url = (p: { httpGet: { path: string } }) => `http://127.0.0.1:${port}${p.httpGet.path}`;
    await waitForHttp(url(c.startupProbe), startupBudgetMs(c.startupProbe)).catch((err) => {
      throw new Error(`${err}\n${pod.output()}`);
    });
    expect((await fetch(url(c.livenessProbe))).status).toBe(200);
    const ready = await fetch(url(c.readinessProbe));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ok", postgres: "ok", redis: "ok", replica: "none" });

    // The rule counts the benchmark's peak for the API process plus what runs beside it here.
    const rss = await pod.rss();
    const server = rss.filter((r) => r.cmd.endsWith("src/server.ts"));
    expect(server).toHaveLength(Number(configMap.API_WORKERS));
    const beside = sum(rss.filter((r) => !server.includes(r)));
    expect(mebibytes(c.resources.requests.memory)).toBeGreaterThanOrEqual(memoryRequestFor(bench.apiPeakMib + beside));

    const grace = api.doc.spec.template.spec.terminationGracePeriodSeconds;
    const { code, seconds } = await pod.terminate(grace);
    expect(code).toBe(0);
    expect(seconds).toBeLessThan(grace - c.lifecycle.preStop.sleep.seconds);
    expect(pod.output()).toContain("api shutting down: finishing in-flight requests");
  }, 90_000);

  it("every worker answers /health on its metrics port, fits its memory rule, and stops cleanly on SIGTERM", async () => {
    await Promise.all(
      WORKERS.map(async (name) => {
        const d = named("Deployment", `evently-${name}`);
        const c = container(d);
        const port = freePort();
        const pod = await run(d, { METRICS_PORT: String(port) });
        await waitForHttp(
          `http://127.0.0.1:${port}${c.startupProbe.httpGet.path}`,
          startupBudgetMs(c.startupProbe),
        ).catch((err) => {
          throw new Error(`${name}: ${err}\n${pod.output()}`);
        });
        expect((await fetch(`http://127.0.0.1:${port}${c.livenessProbe.httpGet.path}`)).status).toBe(200);
        const rss = await pod.rss();
        const worker = rss.filter((r) => r.cmd.endsWith(`workers/${name}.ts`));
        expect(worker).toHaveLength(1);
        const beside = sum(rss.filter((r) => !worker.includes(r)));
        expect(mebibytes(c.resources.requests.memory)).toBeGreaterThanOrEqual(
          memoryRequestFor(bench.workerPeakMib(name) + beside),
        );
        const grace = d.doc.spec.template.spec.terminationGracePeriodSeconds;
        const { code, seconds } = await pod.terminate(grace);
        expect({ name, code }).toEqual({ name, code: 0 });
        expect(seconds).toBeLessThan(grace);
      }),
    );
  }, 90_000);

  it("the migration Job runs to completion", async () => {
    const pod = await run(job, {});
    const timer = setTimeout(() => pod.proc.kill("SIGKILL"), job.doc.spec.activeDeadlineSeconds * 1000);
    expect(await pod.proc.exited).toBe(0);
    clearTimeout(timer);
    expect(pod.output()).toContain("migrations applied");
  }, 60_000);
});
