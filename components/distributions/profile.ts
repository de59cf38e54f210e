// What the rest of the program needs to know about a Kubernetes distribution, as data: one profile
// per distribution (k3s.ts, k0s.ts), looked up by name (index.ts). Code that differs by
// distribution reads a profile field instead of testing `plan.distribution`, so a new distribution
// is a new profile (plus its steps and its component), not new `if`s across the program.
import type { StackConfig } from "../config";
import type { Problems } from "../problems";
import type { Family } from "../net";
import type { Plan, PlannedNode, Role } from "../plan/types";

export type DistributionName = StackConfig["distribution"];
export type LoadBalancer = Plan["traefik"]["loadBalancer"];

/** A refusal or warning's text: what is wrong and how to fix it. */
export interface Rule {
    rule: string;
    fix: string;
}

/**
 * What the day-two rules (components/daytwo.ts and the modules it composes) need to know of a
 * distribution. A key the distribution cannot do at all says so in `unsupported`; otherwise the
 * fields name what the distribution adds to or takes from the shared rules.
 */
export interface DayTwoProfile {
    registries: {
        unsupported?: Rule;
        /** The oldest release (by Kubernetes minor) that can take mirrors, with the refusal below it. */
        minimum?: { minor: number } & Rule;
        /** Set when a `*` mirror cannot be expressed: the refusal's rule (fix: list each registry). */
        noWildcard?: string;
        /** Set when `rewrite` cannot be expressed: the refusal's rule. */
        noRewrite?: string;
    };
    registrationAddress: {
        unsupported?: Rule;
        /** The warning for a DNS name (which may resolve to either family). */
        dnsName?(primaryFamily: Family): Rule;
        /** The refusal of an address of the other family than the cluster's primary. */
        otherFamily?(family: Family, primaryFamily: Family): Rule;
    };
    /** `install.sha256`: the files this distribution downloads that it may pin, or why there are none. */
    installSha256: { pinnableFiles(version: string): string[] } | { unsupported: Rule };
    etcdSnapshots: {
        unsupported?: Rule;
        /** The fewest control planes with which the distribution runs etcd, and the refusal below that. */
        minControlPlanes?: { count: number } & Rule;
    };
}

export interface DistributionProfile {
    name: DistributionName;
    /** An exact release tag; groups 1-3 are the Kubernetes major, minor and patch version. */
    tag: RegExp;
    /** The tag's form, for messages, e.g. `vMAJOR.MINOR.PATCH+k3sN`. */
    tagForm: string;
    /** A tested tag, for messages. */
    exampleTag: string;
    /** The oldest release with stable dual-stack, where older tags still parse. */
    minimum?: { minor: number; patch: number; tag: string };
    /** The systemd unit (without `.service`) that runs the distribution on a node of each role. */
    serviceUnits: Record<Role, string>;
    /** The distribution's kubectl on a control-plane node. */
    kubectl: string;
    /** `traefik.loadBalancer` when the config leaves it unset. */
    defaultLoadBalancer: LoadBalancer;
    /** The load balancer the distribution ships, if any. */
    builtInLoadBalancer?: LoadBalancer;
    /** What `install.airgapDir` must hold, and the fix when a file is missing. */
    airgap: { files: string[]; fix: string };
    /** Set when the distribution can deploy Calico itself (`network.provider: calico`). */
    calicoManager?: Plan["calico"]["managedBy"];
    /** Calico's containerIPForwarding: on where pods forward traffic themselves (k3s' ServiceLB). */
    containerIPForwarding: "Enabled" | "Disabled";
    /** Are control-plane nodes Kubernetes Nodes always, or only with `cluster.controllersRunWorkloads`? */
    controlPlanesAreNodes: "always" | "with-workloads";
    /** The warning for exactly two control planes, where that gains nothing. */
    twoControlPlanesWarning?: string;
    /** Where a node's node-ip is set, for the check's fix text. */
    nodeIpSetting(node: PlannedNode): string;
    /** What the day-two rules need to know (registries, registration address, install.sha256, etcd snapshots). */
    dayTwo: DayTwoProfile;
    /** Rules only this distribution has, reported with the cluster rules. */
    checkConfig?(cfg: StackConfig, p: Problems): void;
}
