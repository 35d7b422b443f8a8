import { describe, expect, it } from "bun:test";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { GATEWAY_CONFIG_PATH, renderGatewayConfigMap } from "../../scripts/k8s-gateway-config";
import { findNginx } from "../../scripts/lib/nginx-local";
import { parseConfig } from "../../src/config";
import { container, loadDeploy, podSpec } from "../support/kubernetes";
import { repoRoot } from "../support/processes";

// deploy/kubernetes/: what the pods are given (settings, secrets), what they may do (security
// context, network policy), and the gateway's nginx configuration.
const read = (file: string) => Bun.file(path.join(repoRoot, file)).text();
const { byKind, named, api, gateway, evently, configMap, secretTemplate } = await loadDeploy();
/** `${NAME}`, as the nginx image's entrypoint writes it for envsubst. */
const envsubst = (name: string) => `\${${name}}`;

describe("deploy/kubernetes: settings, secrets and security", () => {
  const secretKeys = Object.keys(secretTemplate.doc.stringData);

  it("keeps only settings src/config.ts knows in the ConfigMap, and they parse as a production configuration", async () => {
    const known = new Set([...(await read("src/config.ts")).matchAll(/^ {4}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]));
    expect(Object.keys(configMap).filter((k) => !known.has(k))).toEqual([]);
    expect(secretKeys.filter((k) => !known.has(k))).toEqual([]);
    const config = parseConfig({
      ...configMap,
      JWT_SECRET: "k".repeat(64),
      DATABASE_URL: "postgres://evently:pw@postgres.internal:5432/evently",
      REDIS_URL: "redis://:pw@redis.internal:6379/0",
    });
    expect(config.NODE_ENV).toBe("production");
    expect(config.API_WORKERS).toBe(1);
  });

  it("commits no secret value: placeholders only, refused at start-up, and never applied by kustomize", () => {
    expect(byKind("Secret")).toEqual([secretTemplate]);
    expect(secretTemplate.file).toBe("secret.example.yaml");
    expect(secretTemplate.doc.data).toBeUndefined();
    for (const value of Object.values(secretTemplate.doc.stringData as Record<string, string>)) {
      expect(["", "REPLACE_ME"]).toContain(value);
    }
    expect(secretKeys.sort()).toEqual(
      [
        "ADMIN_EMAIL",
        "ADMIN_PASSWORD",
        "DATABASE_READ_URL",
        "DATABASE_URL",
        "JWT_SECRET",
        "MAILGUN_API_KEY",
        "MAILGUN_DOMAIN",
        "REDIS_URL",
      ].sort(),
    );
    expect(Object.keys(configMap).filter((k) => secretKeys.includes(k))).toEqual([]);
    // A forgotten placeholder stops the process instead of running with a published value.
    const refusal = (() => {
      try {
        parseConfig({ ...configMap, ...secretTemplate.doc.stringData });
        return "accepted";
      } catch (err) {
        return (err as Error).message;
      }
    })();
    for (const name of ["JWT_SECRET", "DATABASE_URL", "REDIS_URL"]) expect(refusal).toContain(`${name}:`);
    for (const m of [...evently, gateway]) {
      for (const e of container(m).env ?? []) {
        if (secretKeys.includes(e.name) || /SECRET|PASSWORD|TOKEN|API_KEY/.test(e.name)) {
          throw new Error(`${m.file}: ${e.name} is set in the manifest; it belongs in the Secret`);
        }
      }
    }
  });

  it("runs every pod as non-root with a read-only root filesystem, no capabilities and no API token", async () => {
    const dockerUid = Number(/user \(uid (\d+)\)/.exec(await read("Dockerfile"))?.[1]);
    expect(dockerUid).toBe(1000);
    for (const m of [...evently, gateway]) {
      const pod = podSpec(m);
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
      expect(pod.securityContext.runAsUser).toBe(m === gateway ? 101 : dockerUid);
      expect(container(m).securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
      });
    }
    expect(named("Namespace", "evently").doc.metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("restricted");
  });

  it("lets only the gateway (and the metrics namespace) reach the API, since the API trusts its X-Forwarded-For", () => {
    const policy = named("NetworkPolicy", "evently-api").doc.spec;
    expect(policy.podSelector).toEqual(api.doc.spec.selector);
    expect(policy.ingress[0].from[0].podSelector).toEqual(gateway.doc.spec.selector);
  });
});

describe("deploy/kubernetes: gateway", () => {
  it("ships the compose gateway's rule files byte for byte (gateway-config.yaml is generated)", async () => {
    expect(await read(GATEWAY_CONFIG_PATH)).toBe(await renderGatewayConfigMap());
    const data = named("ConfigMap", "evently-gateway").doc.data as Record<string, string>;
    for (const rules of ["evently-http.conf", "evently-server.conf"])
      expect(data[rules]).toBe(await read(`nginx/${rules}`));
  });

  it("substitutes exactly the names the nginx image's entrypoint is told to, all set in the pod", async () => {
    const template = await read("deploy/kubernetes/gateway/nginx.conf.template");
    const env = Object.fromEntries(
      container(gateway).env.map((e: { name: string; value?: string }) => [e.name, e.value]),
    ) as Record<string, string>;
    const used = [...new Set([...template.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1] as string))].sort();
    expect(used).toEqual(["EVENTLY_API_HOST", "NGINX_LOCAL_RESOLVERS"]);
    const filter = new RegExp(env.NGINX_ENVSUBST_FILTER as string);
    for (const name of used) expect(filter.test(name)).toBe(true);
    expect(filter.test("host")).toBe(false);
    expect(env.NGINX_ENTRYPOINT_LOCAL_RESOLVERS).toBe("1");
    expect(env.EVENTLY_API_HOST).toBe("evently-api-pods.$(POD_NAMESPACE).svc.cluster.local");
    expect(container(gateway).args).toEqual([
      "nginx",
      "-c",
      `${env.NGINX_ENVSUBST_OUTPUT_DIR}/nginx.conf`,
      "-g",
      "daemon off;",
    ]);
  });

  it("renders nginx.conf.template to a configuration nginx accepts (Debian's nginx, minus the upstream's `resolve`)", async () => {
    const nginx = findNginx();
    if (!nginx) throw new Error("nginx not found: apt-get install -y nginx (.ci/run does)");
    const data = named("ConfigMap", "evently-gateway").doc.data as Record<string, string>;
    const dir = await mkdtemp(path.join(os.tmpdir(), "evently-k8s-nginx-"));
    try {
      await mkdir(path.join(dir, "evently"));
      for (const rules of ["evently-http.conf", "evently-server.conf"]) {
        await Bun.write(path.join(dir, "evently", rules), data[rules] as string);
      }
      const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `${t}_temp_path ${dir}/${t};`);
      // What the entrypoint substitutes, and what differs on this machine: nginx 1.22 has no
      // `resolve`, and nothing may be written outside the temp folder.
      const edits: [string, string][] = [
        [envsubst("NGINX_LOCAL_RESOLVERS"), "127.0.0.1"],
        [`${envsubst("EVENTLY_API_HOST")}:3000 resolve;`, "127.0.0.1:3000;"],
        ["/etc/nginx/evently/", `${dir}/evently/`],
        ["pid /tmp/nginx.pid;", `pid ${dir}/nginx.pid;`],
        ["access_log /dev/stdout", `access_log ${dir}/access.log`],
        ["http {\n", `http {\n  ${temp.join("\n  ")}\n`],
      ];
      let conf = data["nginx.conf.template"] as string;
      for (const [from, to] of edits) {
        expect(conf.includes(from)).toBe(true);
        conf = conf.replaceAll(from, to);
      }
      await Bun.write(path.join(dir, "nginx.conf"), conf);
      const proc = Bun.spawn([nginx, "-t", "-p", dir, "-e", `${dir}/error.log`, "-c", `${dir}/nginx.conf`], {
        stdout: "pipe",
        stderr: "pipe",
      });
      const out = await new Response(proc.stderr).text();
      expect({ code: await proc.exited, out }).toEqual({ code: 0, out: expect.stringContaining("test is successful") });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
