import { describe, expect, it } from "bun:test";
import { importGraph, moduleCycles, violations } from "../support/import-graph";

/**
 * The import rules of docs/architecture.md, checked on the real source tree so they survive new
 * contributors. Each rule lists offenders as "file -> import" so a failure says what to move.
 */
const graph = await importGraph();

describe("import rules (docs/architecture.md)", () => {
  it("keeps http/, cache/, messaging/, platform/, domain/ and db/ free of feature modules", () => {
    expect(violations(graph, /^src\/(http|cache|messaging|platform|domain|db)\//, /^src\/modules\//)).toEqual([]);
  });

  it("keeps the lower layers below the upper ones (domain < platform < cache, messaging < http)", () => {
    expect(violations(graph, /^src\/domain\//, /^src\/(?!domain\/)/)).toEqual([]);
    expect(violations(graph, /^src\/platform\//, /^src\/(http|cache|messaging|app|server)\b/)).toEqual([]);
    expect(violations(graph, /^src\/(cache|messaging)\//, /^src\/(http|app|server)\b/)).toEqual([]);
  });

  it("has no import cycle between feature modules", () => {
    expect(moduleCycles(graph)).toEqual([]);
  });

  it("lets a module reach another only through its service or schemas", () => {
    const offenders = [...graph].flatMap(([file, targets]) => {
      const from = /^src\/modules\/([^/]+)\//.exec(file)?.[1];
      if (!from) return [];
      return targets
        .filter((t) => {
          const m = /^src\/modules\/([^/]+)\/[^/]+\.(\w+)$/.exec(t);
          return m && m[1] !== from && m[2] !== "service" && m[2] !== "schemas";
        })
        .map((t) => `${file} -> ${t}`);
    });
    expect(offenders).toEqual([]);
  });

  it("keeps services and repos free of hono", () => {
    expect(violations(graph, /^src\/modules\/.*\.(service|repo)\.ts$/, /^(hono|@hono\/)/)).toEqual([]);
  });

  it("keeps workers away from routes, handlers and the app", () => {
    expect(violations(graph, /^workers\//, /\.(routes|handlers)$|^src\/app$|^(hono|@hono\/)/)).toEqual([]);
  });

  it("reads process.env only in src/config.ts", async () => {
    const offenders: string[] = [];
    for (const file of graph.keys()) {
      if (!/^(src|workers)\//.test(file) || file === "src/config.ts") continue;
      if ((await Bun.file(file).text()).includes("process.env")) offenders.push(file);
    }
    expect(offenders).toEqual([]);
  });

  it("fails on a forbidden import (the checker itself works)", () => {
    const planted = new Map(graph);
    planted.set("src/http/planted.ts", ["src/modules/users/users.repo"]);
    planted.set("src/modules/a/a.service.ts", ["src/modules/b/b.service"]);
    planted.set("src/modules/b/b.service.ts", ["src/modules/a/a.service"]);
    expect(violations(planted, /^src\/http\//, /^src\/modules\//)).toEqual([
      "src/http/planted.ts -> src/modules/users/users.repo",
    ]);
    expect(moduleCycles(planted)).toContainEqual(["a", "b", "a"]);
  });
});
