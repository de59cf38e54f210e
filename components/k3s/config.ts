// /etc/rancher/k3s/config.yaml per node, from the plan. Pure.
//
// k3s reads this file at start; CLI flags map to keys, repeatable flags to YAML lists, boolean
// flags to true/false (k3s docs/installation/configuration.md). Dual-stack facts (k3s
// docs/networking/basic-network-options.md, pkg/agent/run.go):
// - cluster-cidr and service-cidr must list the same families with the same one first;
// - node-ip must carry both families, or k3s stops with "cluster-cidr ... and node-ip ... must
//   share the same IP version"; auto-detection finds no IPv6 without an IPv6 default route;
// - with the IPv6 family first, node-ip must list the IPv6 address first on every node;
// - dual-stack can only be chosen when the cluster is created.
// Validation of every value happened in the plan rules (components/plan/rules); this file only arranges them.
import { Document } from "yaml";
import type { Plan, PlannedNode } from "../plan";
import { K3S_PATHS, roleOf } from "./scripts";
import { byCodePoint } from "../order";
import { k3sSnapshotSettings } from "../snapshots";

/** The config.yaml keys of one node, in a stable order (servers get server keys, agents only agent keys). */
export function k3sConfig(plan: Plan, node: PlannedNode): Record<string, unknown> {
    const server = roleOf(node) === "server";
    const first = node.name === plan.firstControlPlane.name;
    const extra = plan.cluster.extraArgs;
    const cfg: Record<string, unknown> = {};

    cfg["node-name"] = node.name;
    cfg["node-ip"] = node.nodeIps.join(",");
    if (first) {
        // etcd instead of SQLite only when other servers will join; a single server keeps SQLite
        // and can still grow later (k3s migrates SQLite to etcd when cluster-init is added).
        if (plan.controlPlanes.length > 1) cfg["cluster-init"] = true;
    } else {
        // Agents join through the registration address when there is one; servers through the first server.
        cfg.server = server ? (plan.api.bootstrapUrl ?? plan.api.url) : plan.api.url;
    }
    cfg["token-file"] = K3S_PATHS.tokenFile;

    if (server) {
        cfg["cluster-cidr"] = plan.podCidrs.ordered.join(",");
        cfg["service-cidr"] = plan.serviceCidrs.ordered.join(",");
        // Calico is the CNI and the network policy engine.
        cfg["flannel-backend"] = "none";
        cfg["disable-network-policy"] = true;
        // Our Traefik component replaces the bundled one; ServiceLB stays only when it is Traefik's
        // load balancer (it is dual-stack aware given dual InternalIPs, pkg/cloudprovider/servicelb.go).
        cfg.disable = plan.traefik.loadBalancer === "servicelb" ? ["traefik"] : ["servicelb", "traefik"];
        cfg["tls-san"] = [...plan.api.sans].sort();
        cfg["write-kubeconfig-mode"] = "0600";
        // k3s does not set these, so kube-controller-manager's defaults (/24, /64) would apply
        // whatever the plan chose; the unsuffixed --node-cidr-mask-size is refused in dual-stack.
        cfg["kube-controller-manager-arg"] = [
            `node-cidr-mask-size-ipv4=${plan.nodeCidrMaskSizes.ipv4}`,
            `node-cidr-mask-size-ipv6=${plan.nodeCidrMaskSizes.ipv6}`,
            ...extra.controllerManager,
        ];
        if (extra.apiServer.length > 0) cfg["kube-apiserver-arg"] = [...extra.apiServer];
        if (plan.cluster.etcdSnapshots) Object.assign(cfg, k3sSnapshotSettings(plan.cluster.etcdSnapshots));
    }

    const labels = Object.entries(node.labels)
        .sort(([a], [b]) => byCodePoint(a, b))
        .map(([k, v]) => `${k}=${v}`);
    if (labels.length > 0) cfg["node-label"] = labels;
    if (node.taints.length > 0) cfg["node-taint"] = [...node.taints];
    if (extra.kubelet.length > 0) cfg["kubelet-arg"] = [...extra.kubelet];
    const proxy = [...(plan.cluster.kubeProxyMode ? [`proxy-mode=${plan.cluster.kubeProxyMode}`] : []), ...extra.kubeProxy];
    if (proxy.length > 0) cfg["kube-proxy-arg"] = proxy;
    return cfg;
}

/** The file text, via the yaml library. */
export function renderK3sConfig(plan: Plan, node: PlannedNode): string {
    const doc = new Document(k3sConfig(plan, node));
    doc.commentBefore = ` k3s ${roleOf(node)} ${node.name}: written by dualstack (stack ${plan.stackName}); edits are overwritten by pulumi up`;
    return doc.toString({ lineWidth: 0 });
}

/**
 * The settings a running node cannot take in place: the cluster's CIDRs and primary family are
 * fixed at creation (k3s: "Dual-stack networking must be configured when the cluster is first
 * created"), a node's addresses are baked into its certificates and Calico's node resource, and a
 * server cannot become an agent. They go into the install command's `triggers` as readable
 * `key=value` strings rather than a hash, so `pulumi preview --diff` shows which setting forces
 * the replacement. (`triggers` rather than the newer `replacementTrigger` option: the value is
 * then part of the resource's recorded inputs, where the diff and the tests can see it.)
 */
export function createOnlySettings(plan: Plan, node: PlannedNode): string[] {
    return [
        `role=${roleOf(node)}`,
        `primary-family=${plan.primaryFamily}`,
        `cluster-cidr=${plan.podCidrs.ordered.join(",")}`,
        `service-cidr=${plan.serviceCidrs.ordered.join(",")}`,
        `node-ip=${node.nodeIps.join(",")}`,
    ];
}
