// k0s: controllers and workers, each joined with its own token (https://docs.k0sproject.io).
import { NAMESPACE, StackConfig } from "../config";
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
