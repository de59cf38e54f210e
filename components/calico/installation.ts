// The operator.tigera.io/v1 Installation this program applies: pure functions of the plan, used by
// the Calico component and by render.ts (cluster/calico/installation.yaml), so the rendered file is
// the object the cluster receives.
//
// Every setting the operator would otherwise default in a way that silently breaks dual-stack is
// written out (tigera/operator pkg/controller/ippool/defaults.go, pkg/render/node.go; domain facts
// A.6, B.2): IPv6 NAT outgoing defaults to Disabled, and without nodeAddressAutodetectionV6 the
// operator renders calico-node with IP6=none and FELIX_IPV6SUPPORT=false.
import { stringify } from "yaml";
import { profileOf } from "../distributions";
import type { Plan } from "../plan";
import { Encapsulation, expectedPools, POOL_NAMES } from "./pools";

export { POOL_NAMES, type Encapsulation };
export type Toggle = "Enabled" | "Disabled";

export interface IPPool {
    name: string;
    cidr: string;
    blockSize: number;
    encapsulation: Encapsulation;
    natOutgoing: Toggle;
    nodeSelector: string;
}

export interface InstallationSpec {
    cni: { type: "Calico"; ipam: { type: "Calico" } };
    calicoNetwork: {
        bgp: Toggle;
        containerIPForwarding: Toggle;
        ipPools: IPPool[];
        nodeAddressAutodetectionV4: { cidrs: string[] };
        nodeAddressAutodetectionV6: { cidrs: string[] };
    };
    flexVolumePath: "None";
    kubeletVolumePluginPath: "None";
}

export interface InstallationObject {
    apiVersion: "operator.tigera.io/v1";
    kind: "Installation";
    metadata: { name: "default"; annotations: Record<string, string> };
    spec: InstallationSpec;
}

/**
 * The Pulumi property path of the pools. The operator treats pools as install-time settings ("IP
 * pools in this list will be reconciled by the operator and should not be modified out-of-band";
 * the operator refuses most edits of an existing pool), so a change here must be a replacement of
 * the Installation that `pulumi preview` shows, never an in-place patch.
 */
export const POOLS_PATH = "spec.calicoNetwork.ipPools";

/**
 * The operator writes status.calicoVersion only after a reconcile found every Calico component
 * available (pkg/controller/installation/core_controller.go: `if !r.status.IsAvailable() { requeue }`
 * before `instance.Status.CalicoVersion = ...`), so waiting for it means pod networking works.
 */
export const READY_WHEN = "jsonpath={.status.calicoVersion}";

/** Both pools, the cluster's primary family first (the order k3s/k0s list the pod CIDRs in). */
export function ipPools(plan: Plan): IPPool[] {
    return expectedPools(plan).map((p) => ({
        name: p.name,
        cidr: p.cidr,
        blockSize: p.blockSize,
        encapsulation: p.encapsulation,
        natOutgoing: p.natOutgoing ? "Enabled" : "Disabled",
        nodeSelector: "all()",
    }));
}

export function installationSpec(plan: Plan): InstallationSpec {
    return {
        // Explicit rather than auto-detected: the operator picks the CNI from the detected
        // provider, and neither k3s nor k0s is a provider it knows (domain facts B.2).
        cni: { type: "Calico", ipam: { type: "Calico" } },
        calicoNetwork: {
            bgp: plan.calico.bgp,
            // On where the distribution's pods forward traffic themselves (k3s' ServiceLB; the profile says why).
            containerIPForwarding: profileOf(plan).containerIPForwarding,
            ipPools: ipPools(plan),
            // cidr= methods for both families (never first-found, domain facts A.1-A.3), from the
            // node networks host preparation guarantees an address in.
            nodeAddressAutodetectionV4: { cidrs: [...plan.autodetection.ipv4Cidrs] },
            nodeAddressAutodetectionV6: { cidrs: [...plan.autodetection.ipv6Cidrs] },
        },
        // CNI directories stay at the operator defaults /opt/cni/bin and /etc/cni/net.d: with
        // flannel off, k3s leaves containerd's CNI paths at those defaults, and k0s uses them too
        // (domain facts B.6, D.4). The CSI driver and the FlexVolume driver serve Calico features
        // this program does not use (application-layer policy); turning them off removes a
        // DaemonSet and the dependency on the kubelet root dir, which k0s moves to
        // /var/lib/k0s/kubelet. The v3.32.1 chart's own Installation default is also "None" (facts B.1).
        flexVolumePath: "None",
        kubeletVolumePluginPath: "None",
    };
}

export function installationObject(plan: Plan): InstallationObject {
    return {
        apiVersion: "operator.tigera.io/v1",
        kind: "Installation",
        // The operator only acts on the Installation named "default" (CRD rule on metadata.name).
        metadata: { name: "default", annotations: { "pulumi.com/waitFor": READY_WHEN } },
        spec: installationSpec(plan),
    };
}

export function installationYaml(plan: Plan): string {
    return stringify(installationObject(plan), { sortMapEntries: true });
}
