// What both cluster components (K3sCluster, K0sCluster) give the add-ons, so index.ts and the
// add-on components do not care which distribution runs.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Connection } from "./connection";
import type { HostPrep } from "./hostprep";
import type { Plan } from "./plan";

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
