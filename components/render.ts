// Everything the program would put on hosts and into the cluster, rendered from the plan by the
// same pure functions the components call. Used by `npm run render` and by the tests that prove
// the rendered files equal the registered resources' inputs.
import type { Artifact } from "./artifacts";
import { expectedPool } from "./calico/pools";
import { artifacts as calicoArtifacts } from "./calico/render";
import { bgpArtifacts } from "./calico/bgp";
import { artifacts as checkArtifacts } from "./check/render";
import type { DistributionName } from "./distributions";
import { artifacts as hostPrepArtifacts } from "./hostprep/render";
import { artifacts as k0sArtifacts } from "./k0s/render";
import { artifacts as k3sArtifacts } from "./k3s/render";
import { artifacts as kubeadmArtifacts } from "./kubeadm/render";
import type { Plan } from "./plan";
import { artifacts as traefikArtifacts } from "./traefik/render";

/** Each distribution's cluster artifacts (its steps and files). */
const CLUSTER_ARTIFACTS: Record<DistributionName, (plan: Plan) => Artifact[]> = { k3s: k3sArtifacts, k0s: k0sArtifacts, kubeadm: kubeadmArtifacts };

export function renderArtifacts(plan: Plan): Artifact[] {
    const all = [
        ...(plan.hostPrep.enabled ? hostPrepArtifacts(plan) : []),
        ...CLUSTER_ARTIFACTS[plan.distribution](plan),
        ...(plan.calico.managedBy === "operator" ? calicoArtifacts(plan) : []),
        ...bgpArtifacts(plan),
        ...traefikArtifacts(plan),
        ...(plan.checks.enabled ? checkArtifacts(plan) : []),
    ];
    const seen = new Set<string>();
    for (const a of all) {
        if (seen.has(a.path)) throw new Error(`two artifacts render to ${a.path}`);
        seen.add(a.path);
    }
    return all;
}

/** A count for people: exact below 2^20, a power of two as `2^n`, otherwise about `2^n`. */
export function humanCount(n: string | number): string {
    const v = BigInt(n);
    if (v < 1n << 20n) return v.toString();
    const bits = v.toString(2).length - 1;
    return v === 1n << BigInt(bits) ? `2^${bits}` : `about 2^${bits}`;
}

/** The short plan the render command prints. */
export function planSummary(plan: Plan): string {
    const c = plan.capacity;
    const lines = [
        `stack ${plan.stackName}: ${plan.distribution} ${plan.version} (Kubernetes 1.${plan.kubernetes.minor}), primary family ${plan.primaryFamily}`,
        `API ${plan.api.url}`,
        "nodes:",
        ...plan.nodes.map((n) => `  ${n.name.padEnd(12)} ${n.role.padEnd(13)} ${n.interface.padEnd(8)} ${n.ipv4.padEnd(16)} ${n.ipv6Cidr}${n.ipv6Derived ? " (derived)" : ""}`),
        "networks:",
        `  pods     ${plan.podCidrs.ordered.join(", ")}  node masks /${plan.nodeCidrMaskSizes.ipv4} and /${plan.nodeCidrMaskSizes.ipv6}: room for ${humanCount(c.nodeSubnets.ipv4)} (IPv4) / ${humanCount(c.nodeSubnets.ipv6)} (IPv6) nodes, ${humanCount(c.podsPerNode.ipv4)} / ${humanCount(c.podsPerNode.ipv6)} pod addresses per node`,
        `  services ${plan.serviceCidrs.ordered.join(", ")}  ${humanCount(c.services.ipv4)} / ${humanCount(c.services.ipv6)} addresses, DNS ${plan.clusterDns.ordered.join(", ")}`,
        `  calico-node autodetection: IPv4 ${plan.autodetection.ipv4Method}, IPv6 ${plan.autodetection.ipv6Method}`,
        `  calico ${plan.calico.version} (${plan.calico.managedBy}), mode ${plan.calico.mode}, encapsulation ${plan.calico.encapsulation.ipv4}/${plan.calico.encapsulation.ipv6}, IPv6 NAT outgoing ${expectedPool(plan, "IPv6").natOutgoing ? "on" : "off"}`,
        `  traefik chart ${plan.traefik.chartVersion}, load balancer ${plan.traefik.loadBalancer}`,
    ];
    if (plan.hostPrep.enabled) {
        // Every node gets all persistence variants rendered; the host decides which one is placed.
        lines.push(
            "host preparation: nodes/<node>/ holds every way to persist the IPv6 address; on each host only ONE applies,",
            "  picked at run time by the facts step: netplan (netplan installed, a YAML file in /etc/netplan, /lib/netplan or",
            "  /run/netplan, and ethernets.<interface> defined), NetworkManager (running, and the interface's connection has",
            "  ipv6.method auto, dhcp or manual: its own profile, no file), ifupdown (ifup installed, /etc/network/interfaces",
            "  sources interfaces.d), otherwise the systemd unit (when systemd runs). `facts` prints the choice as persistence=.",
        );
    }
    for (const w of plan.warnings) lines.push(`warning: ${w.key} = ${JSON.stringify(w.value)}: ${w.rule}. Fix: ${w.fix}.`);
    return lines.join("\n");
}
