import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Glob } from "bun";
import { parseAllDocuments } from "yaml";
import { repoRoot } from "./processes";

/** Reading and checking deploy/kubernetes/ for tests/ops/kubernetes*.test.ts. */

export const K8S_DIR = path.join(repoRoot, "deploy/kubernetes");

export interface Manifest {
  /** Path under deploy/kubernetes/. */
  file: string;
  doc: Record<string, any>;
}

/** Every YAML document under deploy/kubernetes/; duplicate keys or bad YAML throw. */
export async function loadManifests(): Promise<Manifest[]> {
  const files = [...new Glob("**/*.yaml").scanSync({ cwd: K8S_DIR })].sort();
  const out: Manifest[] = [];
  for (const file of files) {
    for (const parsed of parseAllDocuments(await Bun.file(path.join(K8S_DIR, file)).text(), { uniqueKeys: true })) {
      if (parsed.errors.length > 0) throw new Error(`${file}: ${parsed.errors.map((e) => e.message).join("; ")}`);
      const doc = parsed.toJS();
      if (doc !== null) out.push({ file, doc });
    }
  }
  return out;
}

export const isKubernetesObject = (m: Manifest) => !String(m.doc.apiVersion).startsWith("kustomize.config.k8s.io/");

/** The kubernetes-models module of an apiVersion: "apps/v1" -> kubernetes-models/apps/v1, "v1" -> kubernetes-models/v1. */
export const modelModule = (apiVersion: string) => `kubernetes-models/${apiVersion}`;

/**
 * Validates against the JSON schemas kubernetes-models generates from the Kubernetes OpenAPI
 * (types, required fields, formats, enums). Returns the errors, empty when valid.
 */
export async function schemaErrors(m: Manifest): Promise<string[]> {
  const mod = (await import(modelModule(m.doc.apiVersion))) as Record<string, unknown>;
  const Model = mod[m.doc.kind] as (new (data: unknown) => { validate(): void }) | undefined;
  if (!Model) return [`${m.file}: ${m.doc.apiVersion} ${m.doc.kind} is not a Kubernetes kind`];
  try {
    new Model(m.doc).validate();
    return [];
  } catch (err) {
    return [`${m.file} ${m.doc.kind}/${m.doc.metadata?.name}: ${(err as Error).message}`];
  }
}

/**
 * The JSON schemas allow unknown fields (so does the API server's non-strict mode): a misspelt
 * `livenesProbe` would pass them and be dropped on apply. This types each object as the
 * kubernetes-models interface of its kind and lets tsc's excess-property check reject any field
 * that is not in the Kubernetes API. Returns tsc's errors, each prefixed with the manifest's name.
 */
export async function unknownFieldErrors(manifests: Manifest[]): Promise<string[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "evently-k8s-tsc-"));
  try {
    const lines = manifests.flatMap((m, i) => [
      `import type { I${m.doc.kind} as T${i} } from "${modelModule(m.doc.apiVersion)}/${m.doc.kind}";`,
      `export const m${i}: T${i} = ${JSON.stringify(m.doc)};`,
    ]);
    await Bun.write(path.join(dir, "manifests.ts"), `${lines.join("\n")}\n`);
    const tsconfig = {
      compilerOptions: {
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        module: "esnext",
        moduleResolution: "bundler",
        target: "esnext",
        types: [],
        paths: { "*": [path.join(repoRoot, "node_modules/*")] },
      },
      files: ["manifests.ts"],
    };
    await Bun.write(path.join(dir, "tsconfig.json"), JSON.stringify(tsconfig));
    const proc = Bun.spawn([path.join(repoRoot, "node_modules/.bin/tsc"), "-p", dir], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    if ((await proc.exited) === 0) return [];
    const errors = `${out}${err}`.split("\n").filter((l) => l.trim() !== "");
    return errors.map((line) => {
      const row = Number(/manifests\.ts\((\d+),/.exec(line)?.[1] ?? 0);
      const m = manifests[Math.floor((row - 1) / 2)];
      return m ? `${m.file} ${m.doc.kind}/${m.doc.metadata?.name}: ${line}` : line;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface Deploy {
  all: Manifest[];
  /** Kubernetes objects (no Kustomization). */
  objects: Manifest[];
  byKind(kind: string): Manifest[];
  named(kind: string, name: string): Manifest;
  api: Manifest;
  gateway: Manifest;
  job: Manifest;
  workers: Manifest[];
  /** Containers that run the Evently image: the API, the Job and the workers. */
  evently: Manifest[];
  /** evently-config's data. */
  configMap: Record<string, string>;
  secretTemplate: Manifest;
}

/** deploy/kubernetes/ with the objects the tests talk about picked out. */
export async function loadDeploy(): Promise<Deploy> {
  const all = await loadManifests();
  const objects = all.filter(isKubernetesObject);
  const byKind = (kind: string) => objects.filter((m) => m.doc.kind === kind);
  const named = (kind: string, name: string) => {
    const found = byKind(kind).find((m) => m.doc.metadata.name === name);
    if (!found) throw new Error(`no ${kind} ${name} in deploy/kubernetes`);
    return found;
  };
  const api = named("Deployment", "evently-api");
  const gateway = named("Deployment", "evently-gateway");
  const job = named("Job", "evently-migrate");
  const workers = byKind("Deployment").filter((d) => d !== api && d !== gateway);
  return {
    all,
    objects,
    byKind,
    named,
    api,
    gateway,
    job,
    workers,
    evently: [api, job, ...workers],
    configMap: named("ConfigMap", "evently-config").doc.data,
    secretTemplate: named("Secret", "evently-secrets"),
  };
}

/** The pod spec of a Deployment or Job. */
export const podSpec = (m: Manifest) => m.doc.spec.template.spec;
/** Its one container. */
export const container = (m: Manifest) => podSpec(m).containers[0];

/** "320Mi", "1Gi", "512M" -> MiB. */
export function mebibytes(quantity: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G)?$/.exec(quantity);
  if (!m) throw new Error(`unsupported memory quantity ${quantity}`);
  const factor: Record<string, number> = {
    Ki: 1 / 1024,
    Mi: 1,
    Gi: 1024,
    K: 1e3 / 2 ** 20,
    M: 1e6 / 2 ** 20,
    G: 1e9 / 2 ** 20,
  };
  return Number(m[1]) * (m[2] ? (factor[m[2]] as number) : 1 / 2 ** 20);
}

/** "100m", "1", "2" -> cores. */
export function cores(quantity: string | number): number {
  const s = String(quantity);
  return s.endsWith("m") ? Number(s.slice(0, -1)) / 1000 : Number(s);
}

/** The memory rule of api.yaml: request >= 1.25 x peak RSS, rounded up to 64 Mi; limit = 2 x request. */
export function memoryRequestFor(peakRssMib: number): number {
  return Math.ceil((peakRssMib * 1.25) / 64) * 64;
}

export interface BenchMemory {
  apiPeakMib: number;
  workerPeakMib: (name: string) => number;
}

/** Peak RSS per process from the committed benchmark (bench/results/latest.json, raw.memory). */
export async function benchMemory(): Promise<BenchMemory> {
  const latest = await Bun.file(path.join(repoRoot, "bench/results/latest.json")).json();
  const procs = latest.raw.memory.processes as { kind: string; name: string; peakRssMb: number }[];
  const workers = procs.filter((p) => p.kind === "worker");
  const maxWorker = Math.max(...workers.map((p) => p.peakRssMb));
  return {
    apiPeakMib: latest.raw.memory.apiPeakRssMb as number,
    // A worker the benchmark did not run yet gets the heaviest measured worker's figure.
    workerPeakMib: (name) => workers.find((p) => p.name === name)?.peakRssMb ?? maxWorker,
  };
}
