// K0sCluster: k0s dual-stack over SSH. Thin wiring: the steps and their order are data
// (steps.ts, the same list render.ts writes); components/cluster.ts registers them.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { registerCluster, type Cluster, type ClusterArgs } from "../cluster";
import { k0s, K0S_AIRGAP_BINARY } from "../distributions/k0s";
import { isSingleNode } from "./k0sconfig";
import { registryFiles } from "./scripts";
import { k0sSteps, REGISTRIES_SECRET } from "./steps";

/** Name of the airgap binary inside `install.airgapDir`. */
export const AIRGAP_BINARY_NAME = K0S_AIRGAP_BINARY;

export class K0sCluster extends pulumi.ComponentResource implements Cluster {
    readonly kubeconfig: pulumi.Output<string>;
    readonly provider: k8s.Provider;
    readonly apiReady: pulumi.Resource[];
    readonly nodesJoined: pulumi.Resource[];
    readonly upgraded: pulumi.Resource[];
    readonly kubectl = k0s.kubectl;
    readonly onNode: Record<string, pulumi.Resource[]>;

    constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dualstack:index:K0sCluster", name, {}, opts);
        const { plan } = args;
        const dropIn = registryFiles(plan).find((f) => f.secret);
        const cluster = registerCluster(this, name, args, k0sSteps(plan), dropIn ? { [REGISTRIES_SECRET]: pulumi.secret(dropIn.content) } : {});
        this.kubeconfig = cluster.kubeconfig;
        this.provider = cluster.provider;
        this.apiReady = cluster.apiReady;
        this.nodesJoined = cluster.nodesJoined;
        this.upgraded = cluster.upgraded;
        this.onNode = cluster.onNode;
        this.registerOutputs({ kubeconfig: this.kubeconfig, apiServer: plan.api.url, single: isSingleNode(plan) });
    }
}
