// The plan's types: the plain data every component consumes. Built by plan/index.ts from the rules.
import type { BgpPlan } from "../calico/bgp-rules";
import type { StackConfig } from "../config";
import type { Family } from "../net";
import type { Problem } from "../problems";
import type { ApiEndpoint } from "../registration";
import type { Registries } from "../registries";

export type Role = "control-plane" | "worker";

export interface PlannedNode {
    name: string;
    /** SSH address: IPv4, IPv6 literal or DNS name. */
    host: string;
    role: Role;
    /** Position in `dualstack:nodes`. */
    index: number;
    interface: string;
    ipv4: string;
    ipv6: string;
    ipv6PrefixLength: number;
    /** `ipv6/len`, as `ip -6 addr add` takes it. */
    ipv6Cidr: string;
    /** The node's IPv6 network, e.g. `fd45:a71:55a6:1::/64`. */
    ipv6Network: string;
    /** True when the address was derived from network.nodeIpv6Prefix rather than given. */
    ipv6Derived: boolean;
    /** Both addresses in the cluster's primary-family order, as node-ip wants them. */
    nodeIps: [string, string];
    hostKey?: string;
    labels: Record<string, string>;
    taints: string[];
}

export interface FamilyPair {
    ipv4: string;
    ipv6: string;
    /** Both entries, primary family first. */
    ordered: [string, string];
}

export interface Capacity {
    /** How many nodes can get a pod CIDR of that family. */
    nodeSubnets: { ipv4: number; ipv6: number };
    podsPerNode: { ipv4: string; ipv6: string };
    services: { ipv4: string; ipv6: string };
}

export interface Plan {
    stackName: string;
    distribution: StackConfig["distribution"];
    version: string;
    kubernetes: { major: number; minor: number; patch: number };
    primaryFamily: Family;
    families: [Family, Family];
    nodes: PlannedNode[];
    controlPlanes: PlannedNode[];
    workers: PlannedNode[];
    firstControlPlane: PlannedNode;
    podCidrs: FamilyPair;
    serviceCidrs: FamilyPair;
    nodeCidrMaskSizes: { ipv4: number; ipv6: number };
    capacity: Capacity;
    /** k3s/k0s convention: the 10th address of each service CIDR. */
    clusterDns: FamilyPair;
    /** The first address of each service CIDR: the `kubernetes` Service. */
    kubernetesService: FamilyPair;
    api: ApiEndpoint;
    autodetection: {
        ipv4Cidrs: string[];
        ipv6Cidrs: string[];
        /** calico-node method strings (`cidr=...`), never first-found. */
        ipv4Method: string;
        ipv6Method: string;
    };
    ssh: {
        user: string;
        port: number;
        /** Non-root users run every step through `sudo -n`. */
        sudo: boolean;
        privateKeyPath?: string;
        agentSocketPath?: string;
        hasInlinePrivateKey: boolean;
        dialErrorLimit: number;
        perDialTimeout: number;
        proxy?: {
            host: string;
            user: string;
            port: number;
            privateKeyPath?: string;
            agentSocketPath?: string;
            hasInlinePrivateKey: boolean;
            hostKey?: string;
            dialErrorLimit?: number;
            perDialTimeout?: number;
        };
    };
    network: { provider: "calico" | "custom" };
    calico: Omit<StackConfig["calico"], "bgp"> & {
        encapsulation: { ipv4: string; ipv6: string };
        /** Who deploys Calico: the Tigera operator (our Calico component) or k0s itself. */
        managedBy: "operator" | "k0s";
        bgp: "Enabled" | "Disabled";
    };
    /** Peering with the upstream router (dualstack:calico.bgp), without passwords. */
    bgp?: BgpPlan;
    traefik: StackConfig["traefik"] & { loadBalancer: "servicelb" | "metallb" | "externalIPs" | "none" };
    metallb: StackConfig["metallb"];
    install: StackConfig["install"];
    cluster: StackConfig["cluster"];
    hostPrep: StackConfig["hostPrep"];
    checks: StackConfig["checks"];
    charts: StackConfig["charts"];
    /** Only when dualstack:registries is set. */
    registries?: Registries;
    warnings: Problem[];
}
