// The kubeadm configuration documents of each node, from the plan. Pure.
// Field names follow kubeadm's API (k8s.io/kubernetes cmd/kubeadm/app/apis/kubeadm/v1beta4 and
// v1beta3) and kube-proxy's KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1); the tests
// run `kubeadm config validate` on every rendered set.
//
// Secrets (the bootstrap token, the CA certificate hash, the certificate key) are never part of a
// rendered file: the documents carry placeholders (SECRET_PLACEHOLDERS) that the node fills in from
// a root-only file when it runs kubeadm (scripts.ts `fillSecretsLines`, same rule as `fillSecrets`).
import { createHash } from "node:crypto";
import { stringify } from "yaml";
import { byCodePoint } from "../order";
import { hostPort } from "../net";
import type { Plan, PlannedNode } from "../plan";

/** The kubeadm config API for a Kubernetes version: v1beta4 from 1.31 (where it became the default), v1beta3 before. */
export function kubeadmApiVersion(plan: Pick<Plan, "kubernetes">): "kubeadm.k8s.io/v1beta4" | "kubeadm.k8s.io/v1beta3" {
    return plan.kubernetes.minor >= 31 ? "kubeadm.k8s.io/v1beta4" : "kubeadm.k8s.io/v1beta3";
}

/** containerd's CRI socket (kubeadm detects it too; explicit so a second runtime cannot win). */
export const CRI_SOCKET = "unix:///var/run/containerd/containerd.sock";

/** The secret values a node fills in, by placeholder name; `@@name@@` in the rendered text. */
export const SECRET_PLACEHOLDERS = ["token", "caCertHash", "certificateKey"] as const;
export type SecretName = (typeof SECRET_PLACEHOLDERS)[number];
export const placeholder = (name: SecretName): string => `@@${name}@@`;

/** Replaces each `@@name@@` with its value (the shell does the same with awk, from a root-only file). */
export function fillSecrets(text: string, values: Partial<Record<SecretName, string>>): string {
    let out = text;
    for (const name of SECRET_PLACEHOLDERS) {
        const v = values[name];
        if (v !== undefined) out = out.split(placeholder(name)).join(v);
    }
    return out;
}

/** A node's address in the cluster's primary family. */
export function primaryAddress(plan: Plan, node: PlannedNode): string {
    return plan.primaryFamily === "IPv4" ? node.ipv4 : node.ipv6;
}

/** `controlPlaneEndpoint`: the API address every node joins through, IPv6 in brackets. */
export function controlPlaneEndpoint(plan: Plan): string {
    return hostPort(plan.api.host, plan.api.port);
}

type Args = { name: string; value: string }[] | Record<string, string>;

/** `key=value` list as kubeadm's extra args: a name/value list in v1beta4, a map in v1beta3. Sorted by name. */
function extraArgs(plan: Plan, args: string[]): Args {
    const pairs = args
        .map((a) => ({ name: a.slice(0, a.indexOf("=")), value: a.slice(a.indexOf("=") + 1) }))
        .sort((a, b) => byCodePoint(a.name, b.name) || byCodePoint(a.value, b.value));
    return kubeadmApiVersion(plan).endsWith("v1beta4") ? pairs : Object.fromEntries(pairs.map((p) => [p.name, p.value]));
}

/** `key[=value]:Effect` (the config's taint form) as a kubeadm taint. */
function taint(text: string): { key: string; value?: string; effect: string } {
    const colon = text.lastIndexOf(":");
    const [kv, effect] = [text.slice(0, colon), text.slice(colon + 1)];
    const eq = kv.indexOf("=");
    return eq < 0 ? { key: kv, effect } : { key: kv.slice(0, eq), value: kv.slice(eq + 1), effect };
}

/** kubeadm's default control-plane taint (constants.ControlPlaneTaint), kept unless control planes run workloads. */
const CONTROL_PLANE_TAINT = { key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" };

/** nodeRegistration: name, containerd, node-ip of both families, taints. */
function nodeRegistration(plan: Plan, node: PlannedNode): Record<string, unknown> {
    const taints = [
        ...(node.role === "control-plane" && !plan.cluster.controllersRunWorkloads ? [CONTROL_PLANE_TAINT] : []),
        ...node.taints.map(taint),
    ];
    return {
        name: node.name,
        criSocket: CRI_SOCKET,
        // Both families, primary first: without it the kubelet reports one family only (E.5).
        kubeletExtraArgs: extraArgs(plan, [`node-ip=${node.nodeIps.join(",")}`, ...plan.cluster.extraArgs.kubelet]),
        // An explicit list (even empty) replaces kubeadm's default control-plane taint.
        taints,
    };
}

function localAPIEndpoint(plan: Plan, node: PlannedNode): Record<string, unknown> {
    return { advertiseAddress: primaryAddress(plan, node), bindPort: plan.api.port };
}

/** InitConfiguration of the first control plane; the bootstrap token and certificate key are placeholders. */
export function initConfiguration(plan: Plan): Record<string, unknown> {
    const first = plan.firstControlPlane;
    return {
        apiVersion: kubeadmApiVersion(plan),
        kind: "InitConfiguration",
        bootstrapTokens: [
            {
                token: placeholder("token"),
                description: "dualstack: joins the stack's nodes",
                ttl: plan.cluster.tokenExpiry,
                groups: ["system:bootstrappers:kubeadm:default-node-token"],
                usages: ["signing", "authentication"],
            },
        ],
        certificateKey: placeholder("certificateKey"),
        localAPIEndpoint: localAPIEndpoint(plan, first),
        nodeRegistration: nodeRegistration(plan, first),
    };
}

/** Every control-plane address of both families (and SSH names), sorted: the plan's API SANs. */
export function certSANs(plan: Plan): string[] {
    return [...plan.api.sans];
}

/** ClusterConfiguration: the dual-stack networks, node masks, endpoint and SANs. */
export function clusterConfiguration(plan: Plan): Record<string, unknown> {
    return {
        apiVersion: kubeadmApiVersion(plan),
        kind: "ClusterConfiguration",
        kubernetesVersion: plan.version,
        controlPlaneEndpoint: controlPlaneEndpoint(plan),
        networking: {
            // Primary family first: it sets the family of single-stack Services and of the kubernetes Service.
            podSubnet: plan.podCidrs.ordered.join(","),
            serviceSubnet: plan.serviceCidrs.ordered.join(","),
        },
        apiServer: {
            certSANs: certSANs(plan),
            ...(plan.cluster.extraArgs.apiServer.length > 0 ? { extraArgs: extraArgs(plan, plan.cluster.extraArgs.apiServer) } : {}),
        },
        controllerManager: {
            // Dual-stack refuses the unsuffixed --node-cidr-mask-size (E.2); kubeadm's own default
            // for IPv6 would be /64 only when podSubnet allows it.
            extraArgs: extraArgs(plan, [
                `node-cidr-mask-size-ipv4=${plan.nodeCidrMaskSizes.ipv4}`,
                `node-cidr-mask-size-ipv6=${plan.nodeCidrMaskSizes.ipv6}`,
                ...plan.cluster.extraArgs.controllerManager,
            ]),
        },
    };
}

/** KubeProxyConfiguration: the planned mode and both pod CIDRs. */
export function kubeProxyConfiguration(plan: Plan): Record<string, unknown> {
    return {
        apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
        kind: "KubeProxyConfiguration",
        // kube-proxy's default mode on Linux is iptables; stated so the rendered file says what runs.
        mode: plan.cluster.kubeProxyMode ?? "iptables",
        clusterCIDR: plan.podCidrs.ordered.join(","),
    };
}

/** JoinConfiguration of a joining node; the token, CA hash and (control planes) certificate key are placeholders. */
export function joinConfiguration(plan: Plan, node: PlannedNode): Record<string, unknown> {
    return {
        apiVersion: kubeadmApiVersion(plan),
        kind: "JoinConfiguration",
        nodeRegistration: nodeRegistration(plan, node),
        ...(node.role === "control-plane" ? { controlPlane: { localAPIEndpoint: localAPIEndpoint(plan, node), certificateKey: placeholder("certificateKey") } } : {}),
        discovery: {
            bootstrapToken: {
                apiServerEndpoint: controlPlaneEndpoint(plan),
                token: placeholder("token"),
                caCertHashes: [placeholder("caCertHash")],
            },
        },
    };
}

export function isFirstControlPlane(plan: Plan, node: PlannedNode): boolean {
    return node.name === plan.firstControlPlane.name;
}

/** A node's documents: init + cluster + kube-proxy on the first control plane, a JoinConfiguration elsewhere. */
export function kubeadmDocuments(plan: Plan, node: PlannedNode): Record<string, unknown>[] {
    return isFirstControlPlane(plan, node) ? [initConfiguration(plan), clusterConfiguration(plan), kubeProxyConfiguration(plan)] : [joinConfiguration(plan, node)];
}

/** The node's kubeadm config file as text (multi-document YAML, placeholders in place of secrets). */
export function renderKubeadmConfig(plan: Plan, node: PlannedNode): string {
    return kubeadmDocuments(plan, node)
        .map((d) => stringify(d, { lineWidth: 0 }))
        .join("---\n");
}

/** Where each node keeps its rendered (secret-free) kubeadm config. */
export const KUBEADM_CONFIG_PATH = "/etc/dualstack/kubeadm/kubeadm.yaml";

/**
 * Settings kubeadm takes only when a node is created (init or join): the node's documents without
 * the version (a version change is an upgrade, in place), plus the node's identity. A change
 * replaces the node, visibly in `pulumi preview --diff`.
 */
export function createOnlySettings(plan: Plan, node: PlannedNode): string[] {
    // One fixed API version too: crossing 1.31 changes the API version, not the settings.
    const unversioned = renderKubeadmConfig({ ...plan, version: "(upgraded in place)", kubernetes: { major: 1, minor: 31, patch: 0 } }, node);
    return [
        `podCidrs=${plan.podCidrs.ordered.join(",")}`,
        `serviceCidrs=${plan.serviceCidrs.ordered.join(",")}`,
        `role=${node.role}`,
        `nodeIps=${node.nodeIps.join(",")}`,
        `host=${node.host}`,
        `kubeadmConfigSha256=${createHash("sha256").update(unversioned).digest("hex")}`,
    ];
}
