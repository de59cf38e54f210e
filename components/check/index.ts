// SKELETON (to be implemented for the DualStackCheck issue).
import * as pulumi from "@pulumi/pulumi";
import type { Connection } from "../connection";
import type { Plan } from "../plan";

export interface DualStackCheckArgs {
    plan: Plan;
    /** Connection to the first control-plane node, where the distribution's kubectl runs. */
    connection: Connection;
    /** `k3s kubectl` or `k0s kubectl`. */
    kubectl: string;
    /** Everything else in the stack: the check runs last. */
    dependsOn: pulumi.Resource[];
}

export class DualStackCheck extends pulumi.ComponentResource {
    /** JSON report, one entry per check. */
    readonly report: pulumi.Output<string>;

    constructor(name: string, args: DualStackCheckArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dualstack:index:DualStackCheck", name, {}, opts);
        void args;
        this.report = pulumi.output("[]");
        this.registerOutputs({ report: this.report });
    }
}
