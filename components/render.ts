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
import type { Plan } from "./plan";
import { artifacts as traefikArtifacts } from "./traefik/render";

/** Each distribution's cluster artifacts (its steps and files). */
const CLUSTER_ARTIFACTS: Record<DistributionName, (plan: Plan) => Artifact[]> = { k3s: k3sArtifacts, k0s: k0sArtifacts };

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

/** The short plan the render command prints. */
export function planSummary(plan: Plan): string {
    const lines = [
        `stack ${plan.stackName}: ${plan.distribution} ${plan.version} (Kubernetes 1.${plan.kubernetes.minor}), primary family ${plan.primaryFamily}`,
        `API ${plan.api.url}`,
        "nodes:",
        ...plan.nodes.map((n) => `  ${n.name.padEnd(12)} ${n.role.padEnd(13)} ${n.interface.padEnd(8)} ${n.ipv4.padEnd(16)} ${n.ipv6Cidr}${n.ipv6Derived ? " (derived)" : ""}`),
        "networks:",
        `  pods     ${plan.podCidrs.ordered.join(", ")}  node masks /${plan.nodeCidrMaskSizes.ipv4} and /${plan.nodeCidrMaskSizes.ipv6}: room for ${plan.capacity.nodeSubnets.ipv4} (IPv4) / ${plan.capacity.nodeSubnets.ipv6} (IPv6) nodes, ${plan.capacity.podsPerNode.ipv4} / ${plan.capacity.podsPerNode.ipv6} addresses per node`,
        `  services ${plan.serviceCidrs.ordered.join(", ")}  ${plan.capacity.services.ipv4} / ${plan.capacity.services.ipv6} addresses, DNS ${plan.clusterDns.ordered.join(", ")}`,
        `  calico-node autodetection: IPv4 ${plan.autodetection.ipv4Method}, IPv6 ${plan.autodetection.ipv6Method}`,
        `  calico ${plan.calico.version} (${plan.calico.managedBy}), mode ${plan.calico.mode}, encapsulation ${plan.calico.encapsulation.ipv4}/${plan.calico.encapsulation.ipv6}, IPv6 NAT outgoing ${expectedPool(plan, "IPv6").natOutgoing ? "on" : "off"}`,
        `  traefik chart ${plan.traefik.chartVersion}, load balancer ${plan.traefik.loadBalancer}`,
    ];
    for (const w of plan.warnings) lines.push(`warning: ${w.key} = ${JSON.stringify(w.value)}: ${w.rule}. Fix: ${w.fix}.`);
    return lines.join("\n");
}
