// /etc/k0s/k0s.yaml (ClusterConfig) for each k0s controller, from the plan. Pure.
// Field names and their odd casing follow k0s pkg/apis/k0s/v1beta1 (network.go, dualstack.go,
// calico.go, kubeproxy.go, storage.go) and the upstream ClusterConfig CRD
// (static/_crds/k0s/k0s.k0sproject.io_clusterconfigs.yaml).
import { createHash } from "node:crypto";
import { stringify } from "yaml";
import { expectedPool } from "../calico/pools";
import type { Plan, PlannedNode } from "../plan";

export const K0S_CONFIG_PATH = "/etc/k0s/k0s.yaml";

/** One-node stack: `k0s install controller --single` (kine, no join tokens, cannot grow). */
export function isSingleNode(plan: Plan): boolean {
    return plan.nodes.length === 1;
}

/** Does this node run a kubelet (and so become a Kubernetes Node)? */
export function runsKubelet(plan: Plan, node: PlannedNode): boolean {
    return node.role === "worker" || isSingleNode(plan) || plan.cluster.controllersRunWorkloads;
}

/** A node's address in the cluster's primary family. */
export function primaryAddress(plan: Plan, node: PlannedNode): string {
    return plan.primaryFamily === "IPv4" ? node.ipv4 : node.ipv6;
}

/** `key=value` list (the plan's extraArgs form) as the string map k0s wants, keys sorted. */
export function extraArgsMap(args: string[]): Record<string, string> {
    const entries = args.map((a) => [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] as const);
    return Object.fromEntries([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

// k0s-managed Calico in bird mode: IPIP on the IPv4 pool per `overlay` (calico-node.yaml:
// CALICO_IPV4POOL_IPIP = {{ .Overlay }} in bird mode); the IPv6 pool is never encapsulated.
const OVERLAY: Record<string, string> = { IPIP: "Always", IPIPCrossSubnet: "CrossSubnet", None: "Never" };

/** The ClusterConfig object for `controller`; every controller gets its own address in `api`. */
export function k0sConfig(plan: Plan, controller: PlannedNode): Record<string, unknown> {
    if (controller.role !== "control-plane") throw new Error(`${controller.name} is not a controller; only controllers read k0s.yaml`);
    const address = primaryAddress(plan, controller);
    const cluster = plan.cluster;
    const network: Record<string, unknown> = {
        provider: plan.calico.managedBy === "k0s" ? "calico" : "custom",
        // With dual-stack enabled k0s wants IPv4 here and IPv6 under dualStack (network.go Validate).
        podCIDR: plan.podCidrs.ipv4,
        serviceCIDR: plan.serviceCidrs.ipv4,
        primaryAddressFamily: plan.primaryFamily,
        dualStack: {
            enabled: true,
            IPv6podCIDR: plan.podCidrs.ipv6,
            IPv6serviceCIDR: plan.serviceCidrs.ipv6,
        },
    };
    if (plan.calico.managedBy === "k0s") {
        const overlay = OVERLAY[plan.calico.encapsulation.ipv4];
        if (!overlay) throw new Error(`no k0s Calico overlay for IPv4 encapsulation ${plan.calico.encapsulation.ipv4}`);
        network.calico = {
            // k0s refuses dual-stack Calico in any other mode (network.go: "dual-stack for calico is
            // only supported for mode bird"); plan/rules/calico.ts refuses other modes before we get here.
            mode: plan.calico.mode,
            overlay,
            // Both explicit: an empty IPv6 method makes k0s copy the IPv4 one (calico.go getConfig),
            // and `cidr=<IPv4 net>` then finds no IPv6 address at all.
            ipAutodetectionMethod: plan.autodetection.ipv4Method,
            ipV6AutodetectionMethod: plan.autodetection.ipv6Method,
            // Appended after k0s' own env (calico-node.yaml), so these win. k0s turns IPv6 NAT on
            // for dual-stack; the plan may turn it off. Block sizes as the plan sizes them.
            envVars: {
                CALICO_IPV4POOL_BLOCK_SIZE: String(expectedPool(plan, "IPv4").blockSize),
                CALICO_IPV6POOL_BLOCK_SIZE: String(expectedPool(plan, "IPv6").blockSize),
                CALICO_IPV6POOL_NAT_OUTGOING: String(expectedPool(plan, "IPv6").natOutgoing),
            },
        };
    }
    const kubeProxy: Record<string, unknown> = {};
    // k0s' accepted modes are iptables, ipvs, userspace and "nftables" (kubeproxy.go ModeNFT; the
    // CRD description says "nft", the validation says "nftables").
    if (cluster.kubeProxyMode) kubeProxy.mode = cluster.kubeProxyMode;
    if (cluster.extraArgs.kubeProxy.length > 0) kubeProxy.extraArgs = extraArgsMap(cluster.extraArgs.kubeProxy);
    if (Object.keys(kubeProxy).length > 0) network.kubeProxy = kubeProxy;

    const api: Record<string, unknown> = {
        address,
        port: plan.api.port,
        sans: [...plan.api.sans],
    };
    // The fixed registration address: kubeconfigs and join tokens point there (registration.ts
    // refuses the family k0s cannot serve, k0s#5841).
    if (plan.api.registrationAddress) api.externalAddress = plan.api.registrationAddress;
    if (cluster.extraArgs.apiServer.length > 0) api.extraArgs = extraArgsMap(cluster.extraArgs.apiServer);

    const spec: Record<string, unknown> = {
        api,
        controllerManager: {
            // k0s defaults the IPv6 node mask to /117 (controllermanager.go); the plan sized both.
            extraArgs: extraArgsMap([
                ...cluster.extraArgs.controllerManager,
                `node-cidr-mask-size-ipv4=${plan.nodeCidrMaskSizes.ipv4}`,
                `node-cidr-mask-size-ipv6=${plan.nodeCidrMaskSizes.ipv6}`,
            ]),
        },
        network,
    };
    if (!isSingleNode(plan)) {
        // etcd's default peer address is the host's "first public address" (storage.go
        // DefaultEtcdConfig), which need not be the node network on a multi-homed host.
        spec.storage = { type: "etcd", etcd: { peerAddress: address } };
    }
    return {
        apiVersion: "k0s.k0sproject.io/v1beta1",
        kind: "ClusterConfig",
        // What `k0s config create` writes; k0s names the ClusterConfig object itself.
        metadata: { name: "k0s" },
        spec,
    };
}

/** The text of /etc/k0s/k0s.yaml on `controller`. */
export function renderK0sYaml(plan: Plan, controller: PlannedNode): string {
    return stringify(k0sConfig(plan, controller), { lineWidth: 0 });
}

export function k0sYamlSha256(plan: Plan, controller: PlannedNode): string {
    return createHash("sha256").update(renderK0sYaml(plan, controller)).digest("hex");
}

/**
 * What a k0s node cannot change in place, as readable `key=value` strings: the remote.Command
 * `triggers` of its steps, so a change is a replace that `pulumi preview --diff` names.
 * - pod/service CIDRs, provider, primary family: fixed at cluster creation (k0s docs: "the only
 *   way to change providers is through a full cluster redeployment"; dual-stack CIDRs likewise);
 * - `--single` (kine, cannot be extended) vs a multi-node control plane;
 * - whether a controller runs a kubelet (a Node cannot be turned into a controller-only host);
 * - the node's addresses (kubelet node-ip, etcd peer address, certificates' SANs);
 * - the SSH host: a different machine must be installed from scratch, the old one reset.
 */
export function createOnlySettings(plan: Plan, node: PlannedNode): string[] {
    const role = node.role === "worker" ? "worker" : runsKubelet(plan, node) ? "controller+worker" : "controller";
    return [
        `provider=${plan.calico.managedBy === "k0s" ? "calico" : "custom"}`,
        `podCidrs=${plan.podCidrs.ordered.join(",")}`,
        `serviceCidrs=${plan.serviceCidrs.ordered.join(",")}`,
        `primaryFamily=${plan.primaryFamily}`,
        `controlPlane=${isSingleNode(plan) ? "single" : "multi"}`,
        `role=${role}`,
        `nodeIps=${node.nodeIps.join(",")}`,
        `host=${node.host}`,
        // Joined nodes keep the address their token named; a new one means joining again.
        ...(plan.api.registrationAddress ? [`registrationAddress=${plan.api.registrationAddress}`] : []),
    ];
}
