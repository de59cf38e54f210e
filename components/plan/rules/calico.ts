// Calico: a pinned release, pool encapsulations that fit the mode and the IPv6 pool, block sizes that
// fit the pod CIDRs, and who deploys it (the Tigera operator, or the distribution itself).
import { NAMESPACE, StackConfig } from "../../config";
import { prefixLength } from "../../net";
import { profileOf } from "../../distributions";
import type { Problems } from "../../problems";
import type { Plan } from "../types";
import type { CidrPair } from "./networks";

const CALICO_TAG = /^v3\.(\d+)\.(\d+)$/;

export type CalicoPart = Pick<Plan["calico"], "encapsulation" | "managedBy" | "bgp">;

export function checkCalico(cfg: StackConfig, pods: CidrPair, p: Problems): CalicoPart {
    const cal = cfg.calico;
    const net = cfg.network;
    const calTag = CALICO_TAG.exec(cal.version);
    if (!calTag) {
        p.error(`${NAMESPACE}:calico.version`, cal.version, "is not an exact Calico release tag (v3.MINOR.PATCH)", "use e.g. v3.32.1");
    }
    const enc = {
        ipv4: cal.encapsulation.ipv4 ?? (cal.mode === "bird" ? "IPIPCrossSubnet" : "VXLANCrossSubnet"),
        ipv6: cal.encapsulation.ipv6 ?? (cal.mode === "bird" ? "None" : "VXLAN"),
    };
    checkEncapsulation(cfg, enc, calTag, p);
    checkBlockSizes(cfg, pods, p);
    const profile = profileOf(cfg.distribution);
    const managedBy = profile.calicoManager !== undefined && net.provider === "calico" ? profile.calicoManager : "operator";
    if (calTag && managedBy === "operator" && Number(calTag[1]) < 23) {
        p.error(`${NAMESPACE}:calico.version`, cal.version, "the tigera-operator Helm chart installs into the tigera-operator namespace only from Calico v3.23 (older charts create that namespace themselves and must be released into default)", "use calico.version v3.23.0 or newer (v3.32.1 is tested)");
    }
    if (profile.calicoManager === undefined && net.provider !== "calico") {
        // `custom` is a k0s notion; elsewhere the operator always manages Calico.
        p.error(`${NAMESPACE}:network.provider`, net.provider, `only applies to k0s (${profile.name} always gets Calico through the Tigera operator)`, "remove network.provider");
    }
    if (managedBy === "k0s" && cal.mode !== "bird") {
        p.error(`${NAMESPACE}:calico.mode`, cal.mode, "k0s refuses dual-stack Calico in any mode but bird (`dual-stack for calico is only supported for mode bird`)", "use mode bird, or network.provider custom to run Calico through the operator");
    }
    if (managedBy === "k0s" && (cal.encapsulation.ipv6 ?? "None") !== "None") {
        p.error(`${NAMESPACE}:calico.encapsulation.ipv6`, cal.encapsulation.ipv6, "k0s-managed Calico leaves the IPv6 pool unencapsulated", "drop it, or use network.provider custom");
    }

    const bgp = enc.ipv4 === "None" || enc.ipv6 === "None" || enc.ipv4.startsWith("IPIP") || cal.mode === "bird" ? "Enabled" : "Disabled";
    return { encapsulation: enc, managedBy, bgp };
}

function checkEncapsulation(cfg: StackConfig, enc: { ipv4: string; ipv6: string }, calTag: RegExpExecArray | null, p: Problems): void {
    const cal = cfg.calico;
    if (enc.ipv6 === "IPIP" || enc.ipv6 === "IPIPCrossSubnet") {
        p.error(`${NAMESPACE}:calico.encapsulation.ipv6`, enc.ipv6, "IPIP encapsulation is not supported by IPv6 pools (the Tigera operator rejects it)", "use None (BGP-routed) or VXLAN");
    }
    if (enc.ipv6.startsWith("VXLAN") && calTag && Number(calTag[1]) < 23) {
        p.error(`${NAMESPACE}:calico.encapsulation.ipv6`, enc.ipv6, "VXLAN for IPv6 pools needs Calico v3.23 or newer", "use calico.version v3.23.0 or newer, or encapsulation None");
    }
    if (cal.mode === "bird" && (enc.ipv4.startsWith("VXLAN") || enc.ipv6.startsWith("VXLAN"))) {
        p.error(`${NAMESPACE}:calico.encapsulation`, enc, "VXLAN encapsulation does not fit mode bird", "use mode vxlan, or IPIP/None encapsulation");
    }
    if (cal.mode === "vxlan" && (enc.ipv4.startsWith("IPIP") || enc.ipv6 === "None" || enc.ipv4 === "None")) {
        p.error(`${NAMESPACE}:calico.encapsulation`, enc, "mode vxlan runs without BGP, so every pool must be VXLAN-encapsulated", "use VXLAN or VXLANCrossSubnet for both families, or mode bird");
    }
}

function checkBlockSizes(cfg: StackConfig, pods: CidrPair, p: Problems): void {
    const bs = cfg.calico.blockSizes;
    if (bs.ipv4 < 20 || bs.ipv4 > 32) p.error(`${NAMESPACE}:calico.blockSizes.ipv4`, bs.ipv4, "IPv4 block size must be within 20-32", "use 26 (the default)");
    else if (pods.ipv4 && bs.ipv4 < prefixLength(pods.ipv4)) p.error(`${NAMESPACE}:calico.blockSizes.ipv4`, bs.ipv4, `is shorter than the IPv4 pool prefix /${prefixLength(pods.ipv4)} (IP pool size is too small)`, "use a block size at least the pool prefix length");
    if (bs.ipv6 < 116 || bs.ipv6 > 128) p.error(`${NAMESPACE}:calico.blockSizes.ipv6`, bs.ipv6, "IPv6 block size must be within 116-128", "use 122 (the default)");
    else if (pods.ipv6 && bs.ipv6 < prefixLength(pods.ipv6)) p.error(`${NAMESPACE}:calico.blockSizes.ipv6`, bs.ipv6, `is shorter than the IPv6 pool prefix /${prefixLength(pods.ipv6)}`, "use a block size at least the pool prefix length");
}
