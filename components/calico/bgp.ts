// The BGP objects for dualstack:calico.bgp: one BGPConfiguration `default`, one BGPPeer per peer,
// and, when a peer has a password, the Secret holding it plus the Role/RoleBinding that let
// calico-node read exactly that Secret. Pure functions of the plan, used by the CalicoBgp
// component and by render.ts (cluster/calico/bgp.yaml).
//
// API group: crd.projectcalico.org/v1, on both install paths, chosen knowingly.
// - projectcalico.org/v3 is served by the Calico API server, which this project turns off
//   (values.ts), and k0s-managed Calico has none at all. The "native v3 CRDs" that replace the API
//   server are a tech preview in v3.32, need Kubernetes 1.34+ with the MutatingAdmissionPolicy
//   feature gate and a fresh install (tigera/docs version-3.32 operations/native-v3-crds.mdx).
// - crd.projectcalico.org/v1 is Calico's own datastore: calico-node reads BGPConfiguration and
//   BGPPeer from it on both paths (the operator installs those CRDs with -manage-crds; k0s ships
//   bgpconfigurations/bgppeers.crd.projectcalico.org in static/manifests/calico and itself applies a
//   crd.projectcalico.org/v1 IPAMConfig there). Calico's maintainers call that group internal and
//   unsupported for users, because writing it skips the validation and defaulting calicoctl and the
//   API server do (projectcalico/calico#5169, projectcalico/api#60). So the plan does that
//   validation for every field written here (bgp-rules.ts: addresses, AS numbers, duplicates,
//   password length and characters), only fields whose stored form equals the v3 form are used,
//   and the one v3 default that matters (BGPPeer sourceAddress: UseNodeIP) is written out.
import { stringify } from "yaml";
import { calicoNamespace } from "../check/scripts";
import type { Plan } from "../plan";
import type { BgpPlan } from "./bgp-rules";

export const BGP_API_VERSION = "crd.projectcalico.org/v1";
export const BGP_CONFIGURATION_NAME = "default";
/** Secret (in calico-node's namespace) with one key per peer that has a password. */
export const PASSWORD_SECRET = "dualstack-bgp-passwords";
/** The Role and RoleBinding that let calico-node read PASSWORD_SECRET and nothing else. */
export const PASSWORD_READER = "dualstack-bgp-password-reader";
/** calico-node's ServiceAccount: the same name in the operator's calico-system and k0s' kube-system. */
export const CALICO_NODE_SA = "calico-node";

export interface CidrEntry {
    cidr: string;
}

export interface BgpConfigurationObject {
    apiVersion: typeof BGP_API_VERSION;
    kind: "BGPConfiguration";
    metadata: { name: typeof BGP_CONFIGURATION_NAME };
    spec: {
        asNumber: number;
        nodeToNodeMeshEnabled: boolean;
        serviceClusterIPs?: CidrEntry[];
        serviceExternalIPs?: CidrEntry[];
        serviceLoadBalancerIPs?: CidrEntry[];
    };
}

export interface BgpPeerObject {
    apiVersion: typeof BGP_API_VERSION;
    kind: "BGPPeer";
    metadata: { name: string };
    spec: {
        peerIP: string;
        asNumber: number;
        nodeSelector?: string;
        keepOriginalNextHop?: true;
        password?: { secretKeyRef: { name: string; key: string } };
        sourceAddress: "UseNodeIP";
    };
}

interface Meta {
    name: string;
    namespace: string;
    labels: Record<string, string>;
}

export interface PasswordSecretObject {
    apiVersion: "v1";
    kind: "Secret";
    metadata: Meta;
    type: "Opaque";
}

export interface RoleObject {
    apiVersion: "rbac.authorization.k8s.io/v1";
    kind: "Role";
    metadata: Meta;
    rules: { apiGroups: string[]; resources: string[]; resourceNames: string[]; verbs: string[] }[];
}

export interface RoleBindingObject {
    apiVersion: "rbac.authorization.k8s.io/v1";
    kind: "RoleBinding";
    metadata: Meta;
    roleRef: { apiGroup: "rbac.authorization.k8s.io"; kind: "Role"; name: string };
    subjects: { kind: "ServiceAccount"; name: string; namespace: string }[];
}

const LABELS = { "app.kubernetes.io/managed-by": "dualstack" };

function bgpOf(plan: Plan): BgpPlan {
    if (!plan.bgp) throw new Error("the plan has no calico.bgp section");
    return plan.bgp;
}

const cidrs = (list: string[]): CidrEntry[] => list.map((cidr) => ({ cidr }));

/**
 * The cluster-wide BGP settings. The advertised lists are only written when that kind is
 * advertised: an empty serviceClusterIPs means "advertise nothing" to Calico as well, but leaving
 * the key out keeps the object minimal and the same as `calicoctl get -o yaml` shows it.
 */
export function bgpConfiguration(plan: Plan): BgpConfigurationObject {
    const bgp = bgpOf(plan);
    const a = bgp.advertise;
    return {
        apiVersion: BGP_API_VERSION,
        kind: "BGPConfiguration",
        // calico-node reads cluster-wide settings only from the object named "default".
        metadata: { name: BGP_CONFIGURATION_NAME },
        spec: {
            asNumber: bgp.asNumber,
            nodeToNodeMeshEnabled: bgp.nodeToNodeMesh,
            ...(a.serviceClusterIPs.length ? { serviceClusterIPs: cidrs(a.serviceClusterIPs) } : {}),
            ...(a.serviceExternalIPs.length ? { serviceExternalIPs: cidrs(a.serviceExternalIPs) } : {}),
            ...(a.serviceLoadBalancerIPs.length ? { serviceLoadBalancerIPs: cidrs(a.serviceLoadBalancerIPs) } : {}),
        },
    };
}

/** One global BGPPeer per configured peer; the session family follows peerIP. */
export function bgpPeers(plan: Plan): BgpPeerObject[] {
    return bgpOf(plan).peers.map((p) => ({
        apiVersion: BGP_API_VERSION,
        kind: "BGPPeer",
        metadata: { name: p.name },
        spec: {
            peerIP: p.peerIP,
            asNumber: p.asNumber,
            ...(p.nodeSelector !== undefined ? { nodeSelector: p.nodeSelector } : {}),
            ...(p.keepOriginalNextHop ? { keepOriginalNextHop: true as const } : {}),
            // "Selects a key of a secret in the node pod's namespace" (bgppeers CRD).
            ...(p.hasPassword ? { password: { secretKeyRef: { name: PASSWORD_SECRET, key: p.name } } } : {}),
            // The v3 API's documented default, written out: confd copies the stored value as is, and a
            // v1 write gets no defaulting, so without it BIRD has no `source address` and a host with
            // several addresses per family may open the session from one the router does not expect.
            sourceAddress: "UseNodeIP",
        },
    }));
}

/** The Secret's keys: one per peer with a password (its BGPPeer name). */
export function passwordKeys(plan: Plan): string[] {
    return bgpOf(plan).peers.filter((p) => p.hasPassword).map((p) => p.name);
}

function meta(plan: Plan, name: string): Meta {
    return { name, namespace: calicoNamespace(plan), labels: { ...LABELS } };
}

/** The Secret without its data (the component adds the passwords as Pulumi secrets). */
export function passwordSecret(plan: Plan): PasswordSecretObject {
    return { apiVersion: "v1", kind: "Secret", metadata: meta(plan, PASSWORD_SECRET), type: "Opaque" };
}

/**
 * calico-node has no access to Secrets of its own: "Ensure that calico-node has RBAC permissions
 * to access that secret" (Calico docs, Secure BGP sessions). Read access to this one Secret only:
 * calico-node watches each referenced Secret by name, which resourceNames allows.
 */
export function passwordRole(plan: Plan): RoleObject {
    return {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: meta(plan, PASSWORD_READER),
        rules: [{ apiGroups: [""], resources: ["secrets"], resourceNames: [PASSWORD_SECRET], verbs: ["get", "list", "watch"] }],
    };
}

export function passwordRoleBinding(plan: Plan): RoleBindingObject {
    return {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: meta(plan, PASSWORD_READER),
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: PASSWORD_READER },
        subjects: [{ kind: "ServiceAccount", name: CALICO_NODE_SA, namespace: calicoNamespace(plan) }],
    };
}

/** Every object, for render: the Secret with placeholders naming the config key of each password. */
export function bgpYaml(plan: Plan): string {
    const bgp = bgpOf(plan);
    const docs: object[] = [bgpConfiguration(plan), ...bgpPeers(plan)];
    const keys = passwordKeys(plan);
    if (keys.length > 0) {
        const byName = new Map(bgp.peers.map((p) => [p.name, p.index]));
        docs.push(
            { ...passwordSecret(plan), stringData: Object.fromEntries(keys.map((k) => [k, `(secret: dualstack:calico.bgp.peers[${byName.get(k)}].password, set by pulumi up)`])) },
            passwordRole(plan),
            passwordRoleBinding(plan),
        );
    }
    return docs.map((d) => stringify(d, { sortMapEntries: true })).join("---\n");
}

/** The render artifact: on both install paths, whenever calico.bgp is set. */
export function bgpArtifacts(plan: Plan): { path: string; content: string }[] {
    return plan.bgp ? [{ path: "cluster/calico/bgp.yaml", content: bgpYaml(plan) }] : [];
}
