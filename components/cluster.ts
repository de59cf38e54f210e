// What both cluster components (K3sCluster, K0sCluster) give the add-ons, so index.ts and the
// add-on components do not care which distribution runs.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Connection } from "./connection";
import type { HostPrep } from "./hostprep";
import { rewriteKubeconfigServer } from "./kube";
import type { Plan } from "./plan";
import { ClusterSteps, registerSteps } from "./steps";

export interface ClusterArgs {
    plan: Plan;
    /** SSH connection per node name. */
    connections: Record<string, Connection>;
    /** Host preparation per node name; a node's install waits for its own preparation only. */
    hostPreps: Record<string, HostPrep>;
    /** Join token pinned in config (secret); generated with @pulumi/random when absent. */
    token?: pulumi.Output<string>;
}

export interface Cluster {
    /** Admin kubeconfig with the API address reachable from the Pulumi runner (secret). */
    readonly kubeconfig: pulumi.Output<string>;
    /** Kubernetes provider for the add-ons, with a fixed clusterIdentifier. */
    readonly provider: k8s.Provider;
    /** Resources after which the API answers (first control plane ready). */
    readonly apiReady: pulumi.Resource[];
    /** Resources after which every node has joined. */
    readonly nodesJoined: pulumi.Resource[];
    /** Resources after which every worker runs the planned version (the check waits for them). */
    readonly upgraded: pulumi.Resource[];
    /** The distribution's kubectl on a control-plane node, e.g. `k3s kubectl`. */
    readonly kubectl: string;
    /**
     * Per node name, the resources whose delete runs on that node itself. When a host is gone these
     * are what `pulumi state delete` must drop (README "Recover when a host is gone").
     */
    readonly onNode: Record<string, pulumi.Resource[]>;
}

/**
 * The Kubernetes provider's fixed identity. Without it an unknown (re-read) kubeconfig replaces the
 * provider and with it every object it manages (pulumi-kubernetes DiffConfig; since 4.16.0).
 */
export function clusterIdentifier(plan: Plan): string {
    return `dualstack-${plan.stackName}`;
}

/**
 * Registers a distribution's steps under `parent` and derives what the add-ons need from them: the
 * kubeconfig (read by the steps' kubeconfig step, its server rewritten to the plan's API address),
 * the provider, and the steps the add-ons wait for.
 */
export function registerCluster(
    parent: pulumi.ComponentResource,
    name: string,
    args: ClusterArgs,
    steps: ClusterSteps,
    secrets: Record<string, pulumi.Output<string>> = {},
): Omit<Cluster, "kubectl"> {
    const { plan } = args;
    const registered = registerSteps(steps.steps, { name, parent, connections: args.connections, sudo: plan.ssh.sudo, hostPreps: args.hostPreps, secrets });
    const read = registered.command(steps.kubeconfig);
    // In preview the output is unknown and apply does not run; the provider then previews as
    // unreachable, which plain resources and helm.v3.Release tolerate (pulumi-notes 4.3).
    const kubeconfig = pulumi.secret(read.stdout.apply((text) => rewriteKubeconfigServer(text, plan.api.url)));
    const provider = new k8s.Provider(
        `${name}-k8s`,
        // Without the fixed identifier an unknown (re-read) kubeconfig replaces the provider and with
        // it every object it manages (pulumi-kubernetes DiffConfig; clusterIdentifier since 4.16.0).
        { kubeconfig, clusterIdentifier: clusterIdentifier(plan) },
        { parent },
    );
    return {
        kubeconfig,
        provider,
        apiReady: steps.apiReady.map((id) => registered.byId[id]),
        nodesJoined: steps.nodesJoined.map((id) => registered.byId[id]),
        upgraded: steps.upgraded.map((id) => registered.byId[id]),
        onNode: registered.onNode,
    };
}
