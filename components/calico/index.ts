// SKELETON (to be implemented for the Calico issue).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Plan } from "../plan";

export interface CalicoArgs {
    plan: Plan;
    provider: k8s.Provider;
    /** Resources after which the cluster API answers. */
    dependsOn: pulumi.Resource[];
}

export class Calico extends pulumi.ComponentResource {
    /** Resources after which Calico's Installation is applied (for Traefik and the check). */
    readonly ready: pulumi.Resource[] = [];

    constructor(name: string, args: CalicoArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dualstack:index:Calico", name, {}, opts);
        void args;
        this.registerOutputs({});
    }
}
