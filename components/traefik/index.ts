// Traefik behind a RequireDualStack Service, and the load balancer that gives it addresses of both
// families (k3s ServiceLB, MetalLB, external IPs, or none). Thin wiring: the values and manifests
// come from values.ts / metallb.ts, the same functions `npm run render` writes out.
//
// helm.v3.Release rather than helm.v4.Chart: a Release previews while the cluster does not exist
// yet (first preview, unknown kubeconfig), a v4 Chart fails there (pulumi-notes 4.3).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Plan } from "../plan";
import { ipAddressPool, l2Advertisement, METALLB, metallbValues } from "./metallb";
import { ExpectedTraefikService, expectedService, TRAEFIK, traefikValues } from "./values";
import { releaseArgs } from "../helm";

export interface TraefikArgs {
    plan: Plan;
    provider: k8s.Provider;
    /** Resources after which pod networking works (Calico ready). */
    dependsOn: pulumi.Resource[];
}

/** Helm waits for every object to be ready, including the LoadBalancer address: room for image pulls. */

export class Traefik extends pulumi.ComponentResource {
    /** The check waits for these: the Traefik release, installed after its load balancer. */
    readonly ready: pulumi.Resource[];
    readonly release: k8s.helm.v3.Release;
    /** Helm's record of the release (name, namespace, revision, status); unknown until installed. */
    readonly releaseStatus: pulumi.Output<k8s.types.output.helm.v3.ReleaseStatus>;
    /**
     * What the Service must look like, from the plan. Known at preview time: the cluster IPs are
     * fixed by the values (values.ts CLUSTER_IP_OFFSET), the external addresses come from config.
     * Reading the live Service instead (Service.get) cannot work in a first preview, where the
     * cluster does not exist; the DualStackCheck compares the live Service with this.
     */
    readonly service: ExpectedTraefikService;
    /** Both cluster IPs, in `ipFamilies` order. */
    readonly clusterIPs: pulumi.Output<string[]>;
    /** spec.externalIPs (loadBalancer externalIPs), primary family first. */
    readonly externalIPs: pulumi.Output<string[]>;
    /** Expected status.loadBalancer.ingress IPs (empty when MetalLB picks them from the pool, or without a load balancer). */
    readonly loadBalancerAddresses: pulumi.Output<string[]>;
    readonly metallb?: { release: k8s.helm.v3.Release; pool: k8s.apiextensions.CustomResource; advertisement: k8s.apiextensions.CustomResource };

    constructor(name: string, args: TraefikArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dualstack:index:Traefik", name, {}, opts);
        const { plan } = args;
        const child = { parent: this, provider: args.provider };
        // Delete undoes create for every object here (fixed names), so a replacement must delete first.
        const replaceable = { ...child, deleteBeforeReplace: true };

        let releaseDeps = args.dependsOn;
        if (plan.traefik.loadBalancer === "metallb") {
            const release = new k8s.helm.v3.Release(`${name}-metallb`, releaseArgs(METALLB, plan.metallb.chartVersion, metallbValues(plan), plan.charts), {
                ...replaceable,
                dependsOn: args.dependsOn,
            });
            // The CRDs and the validating webhook come with the release; Helm's wait makes the
            // controller (the webhook's backend) ready before these are applied.
            const pool = new k8s.apiextensions.CustomResource(`${name}-metallb-pool`, ipAddressPool(plan), { ...replaceable, dependsOn: [release] });
            const advertisement = new k8s.apiextensions.CustomResource(`${name}-metallb-l2`, l2Advertisement(plan), {
                ...replaceable,
                dependsOn: [release, pool],
            });
            this.metallb = { release, pool, advertisement };
            // Helm waits until a LoadBalancer Service has an address: the pool must exist first.
            releaseDeps = [...args.dependsOn, pool, advertisement];
        }

        this.release = new k8s.helm.v3.Release(
            `${name}-release`,
            releaseArgs(TRAEFIK, plan.traefik.chartVersion, traefikValues(plan), plan.charts),
            { ...replaceable, dependsOn: releaseDeps },
        );
        this.ready = [this.release];
        this.releaseStatus = this.release.status;

        this.service = expectedService(plan);
        this.clusterIPs = pulumi.output(this.service.clusterIPs);
        this.externalIPs = pulumi.output(this.service.externalIPs);
        this.loadBalancerAddresses = pulumi.output(this.service.loadBalancer.addresses);

        this.registerOutputs({
            service: this.service,
            clusterIPs: this.clusterIPs,
            externalIPs: this.externalIPs,
            loadBalancerAddresses: this.loadBalancerAddresses,
            releaseStatus: this.releaseStatus,
        });
    }
}
