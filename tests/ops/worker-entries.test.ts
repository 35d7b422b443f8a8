import { describe, expect, it } from "bun:test";
import path from "node:path";
import { Glob } from "bun";

const root = path.resolve(import.meta.dir, "../..");
const workerFiles = [...new Glob("workers/*.ts").scanSync({ cwd: root })].sort();

describe("workers/ entry files", () => {
  it("are thin: each wires handlers and jobs from src/ into runWorker, and defines no logic of its own", async () => {
    expect(workerFiles.length).toBeGreaterThan(0);
    const offenders: string[] = [];
    for (const file of workerFiles) {
      const text = await Bun.file(path.join(root, file)).text();
      if (!/^await runWorker\(/m.test(text)) offenders.push(`${file}: does not start through runWorker`);
      if (/\bfunction\b|^export\b|^(const|let|class)\b/m.test(text)) offenders.push(`${file}: defines something`);
      if (text.split("\n").length > 25) offenders.push(`${file}: over 25 lines`);
      for (const [, spec] of text.matchAll(/from\s+"([^"]+)"/g)) {
        if (!spec?.startsWith("../src/")) offenders.push(`${file}: imports ${spec} (only src/ is wired here)`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it("leave process set-up to the one harness: no signal handlers or exits of their own", async () => {
    for (const file of workerFiles) {
      const text = await Bun.file(path.join(root, file)).text();
      expect(`${file}: ${/process\.(on|exit)\b/.test(text)}`).toBe(`${file}: false`);
    }
  });
});
