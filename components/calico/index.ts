// Calico through the Tigera operator: the tigera-operator Helm release, then the Installation
// that makes the operator deploy Calico with one IPv4 and one IPv6 pool. Thin wiring: the release
// arguments and the Installation come from values.ts and installation.ts, which render.ts uses too.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Plan } from "../plan";
import { InstallationSpec, installationObject, POOLS_PATH } from "./installation";
import { crdsInstalledBy, operatorReleaseArgs } from "./values";

export interface CalicoArgs {
    plan: Plan;
    provider: k8s.Provider;
    /** Resources after which the cluster API answers. */
    dependsOn: pulumi.Resource[];
}

export class Calico extends pulumi.ComponentResource {
    /** Resources after which Calico's Installation is applied (for Traefik and the check). */
    readonly ready: pulumi.Resource[];
    readonly operator: k8s.helm.v3.Release;
    readonly installation: k8s.apiextensions.CustomResource;
    /** The Installation spec as applied (plain data, for the stack outputs and reviews). */
    readonly installationSpec: InstallationSpec;
    readonly crdsInstalledBy: string;

    constructor(name: string, args: CalicoArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dualstack:index:Calico", name, {}, opts);
        const { plan, provider } = args;

        // helm.v3.Release, not helm.v4.Chart: a Release previews against a cluster that does not
        // exist yet, a v4 Chart fails its Construct there (pulumi-notes 4.3).
        this.operator = new k8s.helm.v3.Release(`${name}-operator`, operatorReleaseArgs(plan), {
            parent: this,
            provider,
            dependsOn: args.dependsOn,
        });

        const installation = installationObject(plan);
        this.installationSpec = installation.spec;
        this.installation = new k8s.apiextensions.CustomResource(`${name}-installation`, installation, {
            parent: this,
            provider,
            // The operator creates the CRDs when it starts (values.ts); Helm reports the release
            // ready once the operator runs, and the provider retries a create whose kind is not
            // registered yet (pulumi-kubernetes await.Creation).
            dependsOn: [this.operator],
            // Pools are create-time settings: a change to them (pod CIDRs, block sizes,
            // encapsulation, NAT outgoing) replaces the Installation, which `pulumi preview` shows
            // as a replacement. Replacing deletes it first (the operator only honours the one
            // named "default"; the operator tears Calico down), then creates the new one and the
            // operator deploys Calico with the new pools; running pods keep addresses from the
            // old pools until they are recreated.
            replaceOnChanges: [POOLS_PATH],
            deleteBeforeReplace: true,
            // pulumi.com/waitFor on the object waits until every Calico component is available.
            customTimeouts: { create: "20m", update: "20m", delete: "10m" },
        });

        this.ready = [this.installation];
        this.crdsInstalledBy = crdsInstalledBy(plan);
        this.registerOutputs({
            installationSpec: this.installationSpec,
            crdsInstalledBy: this.crdsInstalledBy,
        });
    }
}
