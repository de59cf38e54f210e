// The stacks the engine test (test/engine) runs through the real Pulumi CLI, and the one expectation
// of what they register, shared with the mock-runtime test (test/unit/engine-expectation.spec.ts):
// test/fixtures/engine/<stack>.resources.txt lists every resource as "type name". Both the mock
// runtime's registrations and the real engine's first preview must equal it, so the two cannot
// drift apart. Regenerate with UPDATE_ENGINE_FIXTURES=1 npx mocha test/unit/engine-expectation.spec.ts.
import * as fs from "node:fs";
import * as path from "node:path";
import { K0S_DOUBLE_DIR, K0S_DOUBLE_VERSION, k3sAirgapDir } from "../lab/doubles";
import { rawConfig } from "./configs";
import { ROOT } from "./program";

export const K3S_ENGINE_VERSION = "v1.33.5+k3s1";
/** A placeholder for stacks built without a lab (the expectation test); the engine test passes its own. */
const ENGINE_FIXTURE_TOKEN = "engine-fixture-token-not-used-on-hosts";

export interface EngineHost {
    name: string;
    ipv4: string;
    iface: string;
    hostKey?: string;
}

export interface EngineStackOptions {
    distribution: "k3s" | "k0s";
    hosts: EngineHost[];
    /** How many of the hosts (first ones) are control planes. */
    servers?: number;
    privateKeyPath: string;
    /** k3s: the air-gap folder (test/lab/doubles.ts k3sAirgapDir); k0s uses the k0s double's folder. */
    airgapDir?: string;
    labels?: Record<string, Record<string, string>>;
    /**
     * k3s: the cluster join token (a config secret). The engine stacks pin one, so no
     * random:RandomPassword is registered: the random provider cannot be built here (README "Engine").
     */
    token?: string;
    /** Per-node fixed IPv6 address (instead of the prefix-derived one). */
    ipv6?: Record<string, string>;
    /** The dual-stack check (off unless set): on, with this deadline in seconds. */
    checkSeconds?: number;
    /** Packaged charts by name (dualstack:charts.<chart>.file), e.g. the stand-ins (test/support/charts.ts). */
    chartFiles?: Record<string, string>;
    /** k3s: traefik.loadBalancer (servicelb unless set; k0s stacks use none). */
    loadBalancer?: "servicelb" | "none";
}

/** Pulumi config (flat key -> string) shaped like stacks/Pulumi.lab-<dist>.yaml, pointed at lab hosts. */
export function engineStackConfig(o: EngineStackOptions): Record<string, string> {
    const servers = o.servers ?? 1;
    const common = {
        ssh: { user: "root", privateKeyPath: o.privateKeyPath },
        nodes: o.hosts.map((h, i) => ({
            name: h.name,
            host: h.ipv4,
            role: i < servers ? "control-plane" : "worker",
            interface: h.iface,
            ...(h.hostKey ? { hostKey: h.hostKey } : {}),
            ...(o.ipv6?.[h.name] ? { ipv6: o.ipv6[h.name] } : {}),
            labels: o.labels?.[h.name] ?? {},
        })),
        checks: o.checkSeconds ? { enabled: true, timeoutSeconds: o.checkSeconds } : { enabled: false },
        ...(o.chartFiles ? { charts: Object.fromEntries(Object.entries(o.chartFiles).map(([c, file]) => [c, { file }])) } : {}),
    };
    if (o.distribution === "k3s") {
        return rawConfig({
            distribution: "k3s",
            version: K3S_ENGINE_VERSION,
            token: o.token ?? ENGINE_FIXTURE_TOKEN,
            ...common,
            network: {
                nodeIpv6Prefix: "fd45:a71:55a6:1::/64",
                podCidrs: ["10.42.0.0/16", "fd45:a71:55a6:4200::/56"],
                serviceCidrs: ["10.43.0.0/16", "fd45:a71:55a6:43::/112"],
                nodeCidrMaskSizes: { ipv4: 24, ipv6: 64 },
            },
            calico: { version: "v3.32.1", mode: "bird", encapsulation: { ipv4: "IPIPCrossSubnet", ipv6: "None" }, blockSizes: { ipv4: 26, ipv6: 122 }, ipv6NatOutgoing: true },
            traefik: { chartVersion: "41.3.0", loadBalancer: o.loadBalancer ?? "servicelb" },
            install: { source: "airgap", airgapDir: o.airgapDir ?? k3sAirgapDir(K3S_ENGINE_VERSION) },
        });
    }
    return rawConfig({
        distribution: "k0s",
        version: K0S_DOUBLE_VERSION,
        ...common,
        network: {
            nodeIpv6Prefix: "fd3c:9a1e:77b0:1::/64",
            podCidrs: ["10.244.0.0/16", "fd3c:9a1e:77b0:100::/56"],
            serviceCidrs: ["10.96.0.0/16", "fd3c:9a1e:77b0:200::/112"],
            provider: "calico",
        },
        calico: { mode: "bird" },
        cluster: { tokenExpiry: "15m" },
        install: { source: "airgap", airgapDir: K0S_DOUBLE_DIR },
        traefik: { loadBalancer: "none" },
    });
}

/** The lab's host addresses (test/lab/harness.ts numbers hosts 10.213.0.11 upwards). */
export function labShapedHosts(n: number): EngineHost[] {
    return Array.from({ length: n }, (_, i) => ({ name: `h${i + 1}`, ipv4: `10.213.0.${11 + i}`, iface: "eth0" }));
}

/** The engine test's stacks: what each is, for the fixture name and the engine test alike. */
export const ENGINE_STACKS = {
    "engine-k3s": { distribution: "k3s" as const, hosts: 3, servers: 1 },
    "engine-k0s": { distribution: "k0s" as const, hosts: 3, servers: 1 },
};
export type EngineStackName = keyof typeof ENGINE_STACKS;

/** One "type name" line per resource, sorted; the stack resource and default providers excluded. */
export function resourceLines(resources: { type: string; name: string }[]): string[] {
    return resources
        .filter((r) => r.type !== "pulumi:pulumi:Stack" && !(r.type.startsWith("pulumi:providers:") && r.name.startsWith("default")))
        .map((r) => `${r.type} ${r.name}`)
        .sort();
}

export function fixtureFile(stack: EngineStackName): string {
    return path.join(ROOT, "test", "fixtures", "engine", `${stack}.resources.txt`);
}

export function expectedResources(stack: EngineStackName): string[] {
    return fs.readFileSync(fixtureFile(stack), "utf8").split("\n").filter(Boolean);
}
