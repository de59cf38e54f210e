// k0s: controllers and workers, each joined with its own token (https://docs.k0sproject.io).
import { NAMESPACE, StackConfig } from "../config";
import { K0S_ARCHES, k0sAssetName } from "../installers";
import type { Problems } from "../problems";
import type { DistributionProfile } from "./profile";

/** The air-gap folder's k0s binary. */
export const K0S_AIRGAP_BINARY = "k0s";

export const k0s: DistributionProfile = {
    name: "k0s",
    tag: /^v(1)\.(\d+)\.(\d+)(-rc\.\d+)?\+k0s\.(\d+)$/,
    tagForm: "vMAJOR.MINOR.PATCH+k0s.N",
    exampleTag: "v1.34.1+k0s.0",
    // k0s install.InstallService: k0s<role>.
    serviceUnits: { "control-plane": "k0scontroller", worker: "k0sworker" },
    kubectl: "k0s kubectl",
    defaultLoadBalancer: "none",
    airgap: { files: [K0S_AIRGAP_BINARY], fix: "put the k0s binary of the pinned version for the hosts' architecture in it, named k0s" },
    calicoManager: "k0s",
    containerIPForwarding: "Disabled",
    // k0s controllers without --enable-worker run no kubelet, so they are not Kubernetes nodes.
    controlPlanesAreNodes: "with-workloads",
    nodeIpSetting: (node) =>
        `the k0s ${node.role === "control-plane" ? "controller" : "worker"} on ${node.name} must run with --kubelet-extra-args=--node-ip=${node.nodeIps.join(",")} (the plan sets it)`,
    dayTwo: {
        registries: {
            // k0s docs/runtime.md: drop-ins under /etc/k0s/containerd.d exist since v1.27.1.
            minimum: { minor: 27, rule: "k0s reads containerd drop-ins from /etc/k0s/containerd.d only since v1.27.1", fix: "use a k0s release of 1.27.1 or newer, or remove dualstack:registries" },
            noWildcard: "a wildcard mirror is a k3s feature; k0s' containerd needs one entry per registry",
            noRewrite: "rewrite is a k3s extension of containerd; k0s' containerd has no such setting",
        },
        // k0s' API endpoint reconciler resolves spec.api.externalAddress and writes every result
        // into the `default/kubernetes` Endpoints (k0s pkg/component/controller/
        // apiendpointreconciler.go, b9926fba), whatever its family. That Service has the cluster's
        // primary family, so an address of the other family breaks in-cluster access to the API:
        // the dual-stack externalAddress bug users report (k0s#5841, open).
        registrationAddress: {
            dnsName: (primary) => ({
                rule: "k0s writes every address this name resolves to into the `kubernetes` Service's endpoints; one of the other family than the cluster's primary breaks in-cluster API access (k0s#5841)",
                fix: `let it resolve to ${primary} addresses only, or give the ${primary} address itself`,
            }),
            otherFamily: (family, primary) => ({
                rule: `k0s puts spec.api.externalAddress into the endpoints of the ${primary} \`kubernetes\` Service; an ${family} address there breaks in-cluster API access (k0s#5841)`,
                fix: `use the ${primary} address of the VIP or load balancer, or a DNS name resolving to it`,
            }),
        },
        // The tag's release binary per architecture (installers.ts).
        installSha256: { pinnableFiles: (version) => (Object.keys(K0S_ARCHES) as (keyof typeof K0S_ARCHES)[]).map((a) => k0sAssetName(version, a)) },
        // `k0s backup` covers etcd and kine/SQLite, so any number of controllers.
        etcdSnapshots: {},
    },
    checkConfig,
};

function checkConfig(cfg: StackConfig, p: Problems): void {
    // k0s controllers without --enable-worker run no kubelet, so they are not Kubernetes nodes.
    const workers = cfg.nodes.filter((n) => n.role === "worker").length;
    if (!cfg.cluster.controllersRunWorkloads && workers === 0 && cfg.nodes.length > 1) {
        p.error(`${NAMESPACE}:cluster.controllersRunWorkloads`, false, "with k0s, controllers that do not run workloads are not Kubernetes nodes, and this stack has no workers: nothing could run pods", "set it to true or add worker nodes");
    }
    if (!cfg.cluster.controllersRunWorkloads && cfg.nodes.length === 1) {
        p.warn(`${NAMESPACE}:cluster.controllersRunWorkloads`, false, "a one-node k0s stack is installed with --single, which always runs pods", "remove the setting");
    }
    if (cfg.token !== undefined) {
        p.warn(`${NAMESPACE}:token`, "(secret)", "is ignored with k0s, which joins every node with its own short-lived token", "remove it");
    }
}
