import path from "node:path";
import { Glob } from "bun";
import { repoRoot } from "./processes";

/** file (repo-relative, with extension) -> imports (repo-relative without extension, or package names). */
export type ImportGraph = Map<string, string[]>;

const IMPORT = /^\s*(?:import|export)[^'"]*?from\s+["']([^"']+)["']|^\s*import\s+["']([^"']+)["']/gm;

export async function importGraph(): Promise<ImportGraph> {
  const graph: ImportGraph = new Map();
  for (const file of new Glob("{src,workers,scripts,bench}/**/*.ts").scanSync({ cwd: repoRoot })) {
    const text = await Bun.file(path.join(repoRoot, file)).text();
    const targets = [...text.matchAll(IMPORT)].map((m) => {
      const spec = (m[1] ?? m[2]) as string;
      if (!spec.startsWith(".")) return spec;
      const resolved = path.relative(repoRoot, path.resolve(repoRoot, path.dirname(file), spec));
      return resolved.replace(/\.ts$/, "").replace(/\/index$/, "");
    });
    graph.set(file, targets);
  }
  return graph;
}

/** Every "file -> target" edge whose file matches `from` and whose target matches `to`. */
export function violations(graph: ImportGraph, from: RegExp, to: RegExp): string[] {
  return [...graph].flatMap(([file, targets]) =>
    from.test(file) ? targets.filter((t) => to.test(t)).map((t) => `${file} -> ${t}`) : [],
  );
}

/** Cycles in the graph of feature modules (src/modules/<name>), each as [a, b, …, a]. */
export function moduleCycles(graph: ImportGraph): string[][] {
  const moduleOf = (p: string) => /^src\/modules\/([^/]+)/.exec(p)?.[1];
  const edges = new Map<string, Set<string>>();
  for (const [file, targets] of graph) {
    const from = moduleOf(file);
    if (!from) continue;
    for (const t of targets) {
      const to = moduleOf(t);
      if (to && to !== from) edges.set(from, (edges.get(from) ?? new Set()).add(to));
    }
  }
  const cycles: string[][] = [];
  const walk = (start: string, at: string, trail: string[]) => {
    for (const next of edges.get(at) ?? []) {
      if (next === start) cycles.push([...trail, start]);
      else if (!trail.includes(next) && next > start) walk(start, next, [...trail, next]);
    }
  };
  for (const start of [...edges.keys()].sort()) walk(start, start, [start]);
  return cycles;
}
