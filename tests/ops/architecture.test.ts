import { describe, expect, it } from "bun:test";
import path from "node:path";
import { Glob } from "bun";

const root = path.resolve(import.meta.dir, "../..");
const files = (pattern: string) => [...new Glob(pattern).scanSync({ cwd: root })];
const importsOf = async (file: string) =>
  [
    ...(await Bun.file(path.join(root, file)).text()).matchAll(/^\s*(?:import|export)[^'"]*from\s+["']([^"']+)["']/gm),
  ].map((m) => m[1] as string);

/** Resolves a relative import to a repo path (without extension) so rules can match it. */
const resolve = (from: string, spec: string) =>
  spec.startsWith(".") ? path.relative(root, path.resolve(root, path.dirname(from), spec)) : spec;

describe("import rules (STYLE.md)", () => {
  it("keeps services and repos free of hono", async () => {
    const offenders: string[] = [];
    for (const file of files("src/modules/**/*.{service,repo}.ts")) {
      for (const spec of await importsOf(file)) if (/^(hono|@hono\/)/.test(spec)) offenders.push(`${file} -> ${spec}`);
    }
    expect(offenders).toEqual([]);
  });

  it("keeps workers away from routes, handlers and the app", async () => {
    const offenders: string[] = [];
    for (const file of files("workers/**/*.ts")) {
      for (const spec of await importsOf(file)) {
        const target = resolve(file, spec);
        if (/\.(routes|handlers)$|(^|\/)src\/app$|^hono|^@hono\//.test(target)) offenders.push(`${file} -> ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it("reads process.env only in src/config.ts", async () => {
    const offenders: string[] = [];
    for (const file of files("{src,workers}/**/*.ts")) {
      if (file === "src/config.ts") continue;
      if ((await Bun.file(path.join(root, file)).text()).includes("process.env")) offenders.push(file);
    }
    expect(offenders).toEqual([]);
  });
});
