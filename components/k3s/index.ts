// SKELETON (to be implemented for the k3s issue).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Cluster, ClusterArgs } from "../cluster";

export class K3sCluster extends pulumi.ComponentResource implements Cluster {
    readonly kubeconfig: pulumi.Output<string>;
    readonly provider: k8s.Provider;
    readonly apiReady: pulumi.Resource[] = [];
    readonly nodesJoined: pulumi.Resource[] = [];
    readonly kubectl = "k3s kubectl";

    constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dualstack:index:K3sCluster", name, {}, opts);
        this.kubeconfig = pulumi.secret("");
        this.provider = new k8s.Provider(`${name}-k8s`, { kubeconfig: this.kubeconfig, clusterIdentifier: `dualstack-${args.plan.stackName}` }, { parent: this });
        this.registerOutputs({ kubeconfig: this.kubeconfig });
    }
}
