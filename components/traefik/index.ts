// SKELETON (to be implemented for the Traefik issue).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Plan } from "../plan";

export interface TraefikArgs {
    plan: Plan;
    provider: k8s.Provider;
    /** Resources after which pod networking works (Calico ready). */
    dependsOn: pulumi.Resource[];
}

export class Traefik extends pulumi.ComponentResource {
    readonly ready: pulumi.Resource[] = [];

    constructor(name: string, args: TraefikArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dualstack:index:Traefik", name, {}, opts);
        void args;
        this.registerOutputs({});
    }
}
