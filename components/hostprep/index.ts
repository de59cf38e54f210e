// SKELETON (to be implemented for the "Host preparation" issue).
import * as pulumi from "@pulumi/pulumi";
import type { Connection } from "../connection";
import type { Plan, PlannedNode } from "../plan";

export interface HostPrepArgs {
    plan: Plan;
    node: PlannedNode;
    connection: Connection;
}

export class HostPrep extends pulumi.ComponentResource {
    /** calico-node IPv6 autodetection method for this host, e.g. `cidr=fd45:a71:55a6:1::/64`. */
    readonly ipv6AutodetectionMethod: pulumi.Output<string>;

    constructor(name: string, args: HostPrepArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dualstack:index:HostPrep", name, {}, opts);
        this.ipv6AutodetectionMethod = pulumi.output(args.plan.autodetection.ipv6Method);
        this.registerOutputs({ ipv6AutodetectionMethod: this.ipv6AutodetectionMethod });
    }
}
