import { type Spawned, spawnLogged } from "./processes";

function ip(...args: string[]): void {
  const r = Bun.spawnSync(["ip", ...args], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr.toString().trim()}`);
}

function ipQuiet(...args: string[]): void {
  Bun.spawnSync(["ip", ...args], { stdout: "ignore", stderr: "ignore" });
}

export interface Host {
  name: string;
  netns: string;
  address: string;
  /** The veth end in the root namespace (on the bridge): `link down` cuts the host off. */
  link: string;
}

/**
 * Several "hosts" on this machine: one network namespace each, joined by veth pairs to a bridge in
 * the root namespace that carries a 10.x.y.1/24 address (where the test's own PostgreSQL and Redis
 * listen). Addresses are a /24 in 10.0.0.0/8 that no route of the machine uses. `down()` removes
 * every namespace, link and the bridge, and runs on process exit too, so a failed or killed test
 * leaves nothing behind. Needs root and `ip`.
 */
export class HostNetwork {
  readonly tag = Math.random().toString(36).slice(2, 7);
  readonly bridge = `evb${this.tag}`;
  readonly subnet: string;
  readonly hosts = new Map<string, Host>();
  private readonly onExit = () => this.down();

  constructor() {
    const routes = Bun.spawnSync(["ip", "-4", "route"]).stdout.toString();
    for (;;) {
      const candidate = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 250)}`;
      if (!routes.includes(`${candidate}.`)) {
        this.subnet = candidate;
        break;
      }
    }
    process.once("exit", this.onExit);
  }

  /** The bridge's address: what the hosts reach PostgreSQL and Redis on. */
  get gatewayAddress(): string {
    return `${this.subnet}.1`;
  }

  up(names: string[]): void {
    ip("link", "add", this.bridge, "type", "bridge");
    ip("addr", "add", `${this.gatewayAddress}/24`, "dev", this.bridge);
    ip("link", "set", this.bridge, "up");
    for (const [i, name] of names.entries()) {
      const netns = `ev${this.tag}-${name}`;
      const link = `ev${this.tag}${i}`;
      const address = `${this.subnet}.${10 + i}`;
      ip("netns", "add", netns);
      this.hosts.set(name, { name, netns, address, link });
      ip("link", "add", link, "type", "veth", "peer", "name", `${link}p`);
      ip("link", "set", `${link}p`, "netns", netns);
      ip("link", "set", link, "master", this.bridge, "up");
      ip("-n", netns, "link", "set", `${link}p`, "name", "eth0");
      ip("-n", netns, "addr", "add", `${address}/24`, "dev", "eth0");
      ip("-n", netns, "link", "set", "eth0", "up");
      ip("-n", netns, "link", "set", "lo", "up");
      ip("-n", netns, "route", "add", "default", "via", this.gatewayAddress);
    }
  }

  host(name: string): Host {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no host ${name}`);
    return h;
  }

  /** Runs a repo command inside a host's namespace (ip netns exec replaces itself with it). */
  spawn(name: string, cmd: string[], env: Record<string, string>): Spawned {
    return spawnLogged(["ip", "netns", "exec", this.host(name).netns, ...cmd], env);
  }

  /** Takes the host's link down (its processes live on, unreachable). */
  linkDown(name: string): void {
    ip("link", "set", this.host(name).link, "down");
  }

  down(): void {
    process.off("exit", this.onExit);
    for (const h of this.hosts.values()) {
      ipQuiet("link", "del", h.link);
      ipQuiet("netns", "del", h.netns);
    }
    this.hosts.clear();
    ipQuiet("link", "del", this.bridge);
  }
}
