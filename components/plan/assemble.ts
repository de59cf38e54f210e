// Assembles the Plan from what the rules derived, once they found no error.
import type { BgpPlan } from "../calico/bgp-rules";
import type { StackConfig } from "../config";
import { addressAt, canonicalAddress, canonicalCidr, Family, familyOfAddress } from "../net";
import { apiEndpoint } from "../registration";
import { byCodePoint } from "../order";
import type { Problems } from "../problems";
import type { CalicoPart } from "./rules/calico";
import type { Networks } from "./rules/networks";
import type { NodeAddrs } from "./rules/nodes";
import type { FamilyPair, Plan, PlannedNode } from "./types";

/** What the rules derived, complete (every rule passed). */
export interface Derived {
    kube: Plan["kubernetes"];
    nets: Networks;
    /** The pod and service CIDRs, both families present. */
    pods: { ipv4: string; ipv6: string };
    svcs: { ipv4: string; ipv6: string };
    addrs: NodeAddrs[];
    calico: CalicoPart;
    loadBalancer: Plan["traefik"]["loadBalancer"];
    bgp?: BgpPlan;
}

export function assemblePlan(cfg: StackConfig, stackName: string, d: Derived, p: Problems): Plan {
    const { pods, svcs } = d;
    const { primary, nodeV4Prefix, nodeV6Prefix, capacity } = d.nets;
    const masks = cfg.network.nodeCidrMaskSizes;
    const families: [Family, Family] = primary === "IPv4" ? ["IPv4", "IPv6"] : ["IPv6", "IPv4"];
    const order = <T>(v4: T, v6: T): [T, T] => (primary === "IPv4" ? [v4, v6] : [v6, v4]);
    const nodes = plannedNodes(cfg, d.addrs, order);
    const controlPlanes = nodes.filter((n) => n.role === "control-plane");
    const first = controlPlanes[0];
    const apiHost = primary === "IPv4" ? first.ipv4 : first.ipv6;
    // Sorted: reordering dualstack:nodes must not change what the components render.
    const v6Cidrs = nodeV6Prefix ? [nodeV6Prefix] : [...new Set(nodes.map((n) => n.ipv6Network))].sort(byCodePoint);
    const v4Cidrs = nodeV4Prefix ? [nodeV4Prefix] : nodes.map((n) => `${n.ipv4}/32`).sort(byCodePoint);
    const pair = (v4: string, v6: string): FamilyPair => ({ ipv4: v4, ipv6: v6, ordered: order(v4, v6) });
    return {
        stackName,
        distribution: cfg.distribution,
        version: cfg.version,
        kubernetes: d.kube,
        primaryFamily: primary,
        families,
        nodes,
        controlPlanes,
        workers: nodes.filter((n) => n.role === "worker"),
        firstControlPlane: first,
        podCidrs: pair(pods.ipv4, pods.ipv6),
        serviceCidrs: pair(svcs.ipv4, svcs.ipv6),
        nodeCidrMaskSizes: { ...masks },
        capacity,
        clusterDns: pair(addressAt(svcs.ipv4, 10n), addressAt(svcs.ipv6, 10n)),
        kubernetesService: pair(addressAt(svcs.ipv4, 1n), addressAt(svcs.ipv6, 1n)),
        api: apiEndpoint(
            apiHost,
            6443,
            controlPlanes.flatMap((n) => [n.ipv4, n.ipv6, ...(n.host !== n.ipv4 && n.host !== n.ipv6 ? [n.host] : [])]),
            cfg.cluster.registrationAddress,
        ),
        autodetection: {
            ipv4Cidrs: v4Cidrs,
            ipv6Cidrs: v6Cidrs,
            ipv4Method: `cidr=${v4Cidrs.join(",")}`,
            ipv6Method: `cidr=${v6Cidrs.join(",")}`,
        },
        ssh: sshPlan(cfg),
        network: { provider: cfg.network.provider },
        calico: { ...cfg.calico, ...d.calico },
        ...(d.bgp ? { bgp: d.bgp } : {}),
        traefik: { ...cfg.traefik, loadBalancer: d.loadBalancer },
        metallb: cfg.metallb,
        install: cfg.install,
        cluster: cfg.cluster,
        hostPrep: cfg.hostPrep,
        checks: cfg.checks,
        charts: cfg.charts,
        ...(cfg.registries ? { registries: cfg.registries } : {}),
        warnings: p.warnings,
    };
}

function plannedNodes(cfg: StackConfig, addrs: NodeAddrs[], order: <T>(v4: T, v6: T) => [T, T]): PlannedNode[] {
    return cfg.nodes.map((n, i) => {
        const a = addrs[i] as Required<NodeAddrs>;
        const ipv6Network = canonicalCidr(`${a.ipv6}/${a.ipv6Len}`);
        return {
            name: n.name,
            host: familyOfAddress(n.host) ? canonicalAddress(n.host) : n.host,
            role: n.role,
            index: i,
            interface: n.interface,
            ipv4: a.ipv4,
            ipv6: a.ipv6,
            ipv6PrefixLength: a.ipv6Len,
            ipv6Cidr: `${a.ipv6}/${a.ipv6Len}`,
            ipv6Network,
            ipv6Derived: n.ipv6 === undefined,
            nodeIps: order(a.ipv4, a.ipv6),
            hostKey: n.hostKey,
            labels: n.labels,
            taints: n.taints,
        };
    });
}

function sshPlan(cfg: StackConfig): Plan["ssh"] {
    const ssh = cfg.ssh;
    return {
        user: ssh.user,
        port: ssh.port,
        sudo: ssh.user !== "root",
        privateKeyPath: ssh.privateKeyPath,
        agentSocketPath: ssh.agentSocketPath,
        hasInlinePrivateKey: ssh.privateKey !== undefined,
        dialErrorLimit: ssh.dialErrorLimit,
        perDialTimeout: ssh.perDialTimeout,
        proxy: ssh.proxy && {
            host: ssh.proxy.host,
            user: ssh.proxy.user,
            port: ssh.proxy.port,
            privateKeyPath: ssh.proxy.privateKeyPath,
            agentSocketPath: ssh.proxy.agentSocketPath,
            hasInlinePrivateKey: ssh.proxy.privateKey !== undefined,
            hostKey: ssh.proxy.hostKey,
            dialErrorLimit: ssh.proxy.dialErrorLimit,
            perDialTimeout: ssh.proxy.perDialTimeout,
        },
    };
}
