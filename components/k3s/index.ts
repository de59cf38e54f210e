// K3sCluster: a dual-stack k3s cluster on prepared hosts, over SSH. Thin wiring: the steps and
// their order are data (steps.ts, the same list render.ts writes); components/cluster.ts registers
// them. Pulumi runs creates in dependency order and deletes in the reverse order.
import * as fs from "node:fs";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { registerCluster, type Cluster, type ClusterArgs } from "../cluster";
import { k3s } from "../distributions/k3s";
import { AIRGAP_IMAGES, registriesContent } from "./scripts";
import { k3sSteps, REGISTRIES_SECRET, TOKEN_SECRET } from "./steps";

/** Image tarballs in the air-gap folder (optional; sorted so the registered inputs are stable). */
export function airgapImageFiles(dir: string): string[] {
    let names: string[];
    try {
        names = fs.readdirSync(dir);
    } catch {
        // The install.sh and k3s assets then fail with the provider's own "no such file" error.
        return [];
    }
    return names.filter((f) => AIRGAP_IMAGES.test(f)).sort();
}

export class K3sCluster extends pulumi.ComponentResource implements Cluster {
    readonly kubeconfig: pulumi.Output<string>;
    readonly provider: k8s.Provider;
    readonly apiReady: pulumi.Resource[];
    readonly nodesJoined: pulumi.Resource[];
    readonly upgraded: pulumi.Resource[];
    readonly kubectl = k3s.kubectl;
    readonly onNode: Record<string, pulumi.Resource[]>;

    constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dualstack:index:K3sCluster", name, {}, opts);
        const { plan } = args;
        const token = pulumi.secret(
            args.token ?? new random.RandomPassword(`${name}-token`, { length: 48, special: false }, { parent: this }).result,
        );
        const images = plan.install.source === "airgap" ? airgapImageFiles(plan.install.airgapDir!) : [];
        const registries = registriesContent(plan);
        const secrets = { [TOKEN_SECRET]: token, ...(registries !== undefined ? { [REGISTRIES_SECRET]: pulumi.secret(registries) } : {}) };
        const cluster = registerCluster(this, name, args, k3sSteps(plan, images), secrets);
        this.kubeconfig = cluster.kubeconfig;
        this.provider = cluster.provider;
        this.apiReady = cluster.apiReady;
        this.nodesJoined = cluster.nodesJoined;
        this.upgraded = cluster.upgraded;
        this.onNode = cluster.onNode;
        this.registerOutputs({ kubeconfig: this.kubeconfig, apiServer: plan.api.url });
    }
}
