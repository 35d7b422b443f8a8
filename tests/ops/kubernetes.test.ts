import { describe, expect, it } from "bun:test";
import path from "node:path";
import { parse } from "yaml";
import { WORKERS } from "../../scripts/lib/children";
import {
  benchMemory,
  container,
  cores,
  loadDeploy,
  type Manifest,
  mebibytes,
  memoryRequestFor,
  podSpec,
  schemaErrors,
  unknownFieldErrors,
} from "../support/kubernetes";
import { repoRoot } from "../support/processes";

// deploy/kubernetes/ read as the API server would: every object against the Kubernetes schemas,
// then the properties the deployment depends on (docs/operations.md, "Kubernetes manifests").
// Settings, secrets, security and the gateway: kubernetes-config.test.ts; the containers run for
// real: kubernetes-pods.test.ts.
const read = (file: string) => Bun.file(path.join(repoRoot, file)).text();
const {
  all,
  objects,
  byKind,
  named,
  api,
  gateway,
  job,
  workers: workerDeployments,
  evently,
  configMap,
} = await loadDeploy();
const deployments = byKind("Deployment");
const compose = parse(await read("docker-compose.yml"), { merge: true }).services as Record<string, any>;
const scripts = JSON.parse(await read("package.json")).scripts as Record<string, string>;

/** A number of milliseconds written as `NAME = 8_000` or `}, 10_000)` in a source file. */
async function millis(file: string, pattern: RegExp): Promise<number> {
  const m = pattern.exec(await read(file));
  if (!m) throw new Error(`${file}: ${pattern} not found`);
  return Number((m[1] as string).replaceAll("_", ""));
}

describe("deploy/kubernetes: schemas", () => {
  it("validates every object against the Kubernetes JSON schemas (kubernetes-models)", async () => {
    expect(objects.length).toBeGreaterThanOrEqual(20);
    const errors = (await Promise.all(objects.map(schemaErrors))).flat();
    expect(errors).toEqual([]);
  });

  it("uses no field that the Kubernetes API does not have (strict, through the generated types)", async () => {
    expect(await unknownFieldErrors(objects)).toEqual([]);
  });

  it("lists every app object in kustomization.yaml, and leaves out the Secret template and the Job", async () => {
    const kustomization = all.find((m) => m.file === "kustomization.yaml")?.doc;
    const app = [...new Set(objects.map((m) => m.file))].filter(
      (f) => f !== "secret.example.yaml" && !f.startsWith("migrate/"),
    );
    expect([...(kustomization?.resources ?? [])].sort()).toEqual(app.sort());
    const migrate = all.find((m) => m.file === "migrate/kustomization.yaml")?.doc;
    expect(migrate?.resources).toEqual(["job.yaml"]);
    expect(migrate?.images).toEqual(kustomization?.images);
    expect(kustomization?.images).toEqual([{ name: "evently", newName: "evently", newTag: "latest" }]);
    for (const m of objects.filter((o) => o.doc.kind !== "Namespace")) expect(m.doc.metadata.namespace).toBe("evently");
  });
});

describe("deploy/kubernetes: processes", () => {
  it("runs the API, the migration and every worker of scripts/lib/children.ts with compose's image and commands", () => {
    for (const m of evently) {
      expect(container(m).image).toBe("evently:latest");
      expect(podSpec(m).containers).toHaveLength(1);
    }
    expect(container(api).command).toEqual(compose.api.command);
    expect(container(job).command).toEqual(compose.migrate.command);
    // Read from the code: a new worker without a manifest fails here.
    expect(workerDeployments.map((d) => d.doc.metadata.name).sort()).toEqual(WORKERS.map((w) => `evently-${w}`).sort());
    for (const w of WORKERS) {
      const d = named("Deployment", `evently-${w}`);
      expect(container(d).command).toEqual(["bun", "run", `worker:${w}`]);
      expect(container(d).command).toEqual(compose[w].command);
      expect(scripts[`worker:${w}`]).toBe(`bun workers/${w}.ts`);
    }
  });

  it("probes the API with liveness /health and readiness /ready, and each worker on its metrics port's /health", () => {
    const c = container(api);
    expect(c.ports).toEqual([{ name: "http", containerPort: Number(configMap.PORT) }]);
    expect(c.startupProbe.httpGet).toEqual({ path: "/health", port: "http" });
    expect(c.livenessProbe.httpGet).toEqual({ path: "/health", port: "http" });
    expect(c.readinessProbe.httpGet).toEqual({ path: "/ready", port: "http" });
    // /ready waits 2 s for PostgreSQL before answering 503: the probe must wait longer.
    expect(c.readinessProbe.timeoutSeconds).toBeGreaterThan(2);
    expect(Number(configMap.METRICS_PORT)).toBeGreaterThan(0);
    for (const d of workerDeployments) {
      const w = container(d);
      expect(w.ports).toEqual([{ name: "metrics", containerPort: Number(configMap.METRICS_PORT) }]);
      expect(w.startupProbe.httpGet).toEqual({ path: "/health", port: "metrics" });
      expect(w.livenessProbe.httpGet).toEqual({ path: "/health", port: "metrics" });
    }
    expect(container(gateway).readinessProbe.tcpSocket).toEqual({ port: "http" });
  });

  it("gives every pod a grace period above its preStop pause plus its drain time (read from the code)", async () => {
    const apiDrain = Math.max(
      await millis("src/server.ts", /did not finish[\s\S]*?\},\s*([\d_]+)\)/),
      await millis("scripts/lib/supervisor.ts", /STOP_GRACE_MS = ([\d_]+)/),
    );
    const workerDrain = await millis("src/messaging/worker-runner.ts", /SHUTDOWN_GRACE_MS = ([\d_]+)/);
    const preStop = (m: Manifest) => container(m).lifecycle?.preStop?.sleep?.seconds ?? 0;
    expect(podSpec(api).terminationGracePeriodSeconds).toBeGreaterThanOrEqual(preStop(api) + apiDrain / 1000 + 2);
    for (const d of workerDeployments) {
      expect(podSpec(d).terminationGracePeriodSeconds).toBeGreaterThanOrEqual(preStop(d) + workerDrain / 1000 + 2);
    }
    // Before SIGTERM the gateway must have re-resolved the API pods at least once.
    const template = await read("deploy/kubernetes/gateway/nginx.conf.template");
    const resolverValid = Number(/resolver .* valid=(\d+)s/.exec(template)?.[1]);
    expect(preStop(api)).toBeGreaterThan(resolverValid);
    expect(preStop(gateway)).toBeGreaterThan(0);
    const readTimeout = Number(/proxy_read_timeout (\d+)s;/.exec(await read("nginx/evently-http.conf"))?.[1]);
    expect(podSpec(gateway).terminationGracePeriodSeconds).toBeGreaterThanOrEqual(preStop(gateway) + readTimeout);
  });

  it("sizes memory by the rule in api.yaml from the benchmark's peak RSS, and sets CPU on every container", async () => {
    const bench = await benchMemory();
    const peak = (m: Manifest) =>
      m === api ? bench.apiPeakMib : bench.workerPeakMib(m === job ? "" : m.doc.metadata.name.replace(/^evently-/, ""));
    for (const m of [...evently, gateway]) {
      const { requests, limits } = container(m).resources;
      expect(cores(requests.cpu)).toBeGreaterThan(0);
      expect(cores(limits.cpu)).toBeGreaterThanOrEqual(cores(requests.cpu));
      expect(mebibytes(limits.memory)).toBe(2 * mebibytes(requests.memory));
    }
    for (const m of evently) {
      const request = mebibytes(container(m).resources.requests.memory);
      expect(request % 64).toBe(0);
      expect(request).toBeGreaterThanOrEqual(memoryRequestFor(peak(m)));
    }
  });

  it("has a migration Job that runs once, never restarts in place, and is bounded in time", () => {
    expect(job.doc.spec.template.spec.restartPolicy).toBe("Never");
    expect(job.doc.spec.backoffLimit).toBeLessThanOrEqual(3);
    expect(job.doc.spec.activeDeadlineSeconds).toBeGreaterThan(0);
  });
});

describe("deploy/kubernetes: scaling and disruption", () => {
  it("autoscales the API Deployment on CPU (autoscaling/v2), and leaves its replica count to the HPA", () => {
    const hpas = byKind("HorizontalPodAutoscaler");
    expect(hpas).toHaveLength(1);
    const spec = hpas[0]?.doc.spec;
    expect(hpas[0]?.doc.apiVersion).toBe("autoscaling/v2");
    expect(spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: "evently-api" });
    expect(spec.metrics).toEqual([
      { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } },
    ]);
    expect(spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(spec.maxReplicas).toBeGreaterThan(spec.minReplicas);
    expect(api.doc.spec.replicas).toBeUndefined();
    expect(cores(container(api).resources.requests.cpu)).toBeGreaterThan(0);
  });

  it("covers every Deployment with one PodDisruptionBudget that selects exactly its pods and allows a drain", () => {
    const pdbs = byKind("PodDisruptionBudget");
    const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
      Object.entries(selector).every(([k, v]) => labels[k] === v);
    for (const d of deployments) {
      const covering = pdbs.filter((p) =>
        matches(p.doc.spec.selector.matchLabels, d.doc.spec.template.metadata.labels),
      );
      expect(covering.map((p) => p.doc.metadata.name)).toEqual([d.doc.metadata.name]);
      expect(covering[0]?.doc.spec.selector).toEqual(d.doc.spec.selector);
      expect(covering[0]?.doc.spec.maxUnavailable).toBeGreaterThanOrEqual(1);
    }
    expect(pdbs).toHaveLength(deployments.length);
    for (const p of pdbs) {
      const selected = deployments.filter((d) =>
        matches(p.doc.spec.selector.matchLabels, d.doc.spec.template.metadata.labels),
      );
      expect(selected).toHaveLength(1);
    }
  });

  it("selects the API pods with its Services and the gateway pods with the public one, on named ports", () => {
    for (const name of ["evently-api", "evently-api-pods"]) {
      const svc = named("Service", name).doc.spec;
      expect(svc.selector).toEqual(api.doc.spec.selector.matchLabels);
      expect(svc.ports.map((p: { targetPort: string }) => p.targetPort)).toEqual(["http"]);
    }
    expect(named("Service", "evently-api-pods").doc.spec.clusterIP).toBe("None");
    const pub = named("Service", "evently-gateway").doc.spec;
    expect(pub.selector).toEqual(gateway.doc.spec.selector.matchLabels);
    expect(pub.externalTrafficPolicy).toBe("Local");
  });

  it("states the PostgreSQL connections the manifests need at the HPA's maximum in docs/operations.md", async () => {
    const hpa = byKind("HorizontalPodAutoscaler")[0]?.doc.spec;
    const pool = (m: Manifest) =>
      Number(
        container(m).env?.find((e: { name: string }) => e.name === "DB_POOL_SIZE")?.value ?? configMap.DB_POOL_SIZE,
      );
    const total =
      hpa.maxReplicas * Number(configMap.API_WORKERS) * pool(api) +
      workerDeployments.reduce((n, d) => n + d.doc.spec.replicas * pool(d), 0) +
      1; // the migration Job
    const docs = await read("docs/operations.md");
    expect(/\*\*(\d+) PostgreSQL connections\*\*/.exec(docs)?.[1]).toBe(String(total));
  });
});
