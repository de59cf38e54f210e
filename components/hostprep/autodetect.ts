// A TypeScript emulation of calico-node's IPv6 address autodetection, over host facts, and the
// preflight built on it. Behaviour follows Calico v3.32.1 source (projectcalico/calico
// node/pkg/lifecycle/startup/autodetection/): autodetection_methods.go (method dispatch),
// interfaces.go (interfaces walked in REVERSE kernel order, include/exclude regexes joined as
// `(a)|(b)` and matched unanchored), filtered.go (first address with Go IsGlobalUnicast inside
// the CIDRs), autodetection_linux.go (DEFAULT_INTERFACES_TO_EXCLUDE). Pure: no Pulumi, no I/O.
import { cidrContainsAddress, familyOfCidr, isGoGlobalUnicastV6 } from "../net";
import type { PlannedNode } from "../plan";
import { describeIPv6, HostFacts, HostInterface } from "./facts";

/** autodetection_linux.go, identical from v3.28.0 through v3.32.1. */
export const DEFAULT_INTERFACES_TO_EXCLUDE = [
    "^docker.*",
    "^cbr.*",
    "^dummy.*",
    "^podman.*",
    "^virbr.*",
    "^lxcbr.*",
    "^veth.*",
    "^lo",
    "^br-.*",
    "^cali.*",
    "^tunl.*",
    "^flannel.*",
    "^kube-ipvs.*",
    "^cni.*",
    "^vxlan\\.calico.*",
    "^vxlan-v6\\.calico.*",
    "^wireguard\\.cali.*",
    "^wg-v6\\.cali.*",
    "^nodelocaldns.*",
];

export type ParsedMethod =
    | { kind: "first-found" }
    | { kind: "interface"; include: string[] }
    | { kind: "skip-interface"; exclude: string[] }
    | { kind: "cidr"; cidrs: string[] }
    | { kind: "can-reach"; destination: string }
    | { kind: "kubernetes-internal-ip" };

export class MethodError extends Error {}

// Calico splits method arguments on `\s*,\s*`.
const splitList = (s: string) => s.split(/\s*,\s*/).filter((x) => x !== "");

/** Parses a calico-node method string; an unknown method terminates calico-node, so it throws. */
export function parseMethod(method: string): ParsedMethod {
    if (method === "" || method === "first-found") return { kind: "first-found" };
    if (method.startsWith("interface=")) return { kind: "interface", include: splitList(method.slice("interface=".length)) };
    if (method.startsWith("skip-interface=")) return { kind: "skip-interface", exclude: splitList(method.slice("skip-interface=".length)) };
    if (method.startsWith("cidr=")) {
        const cidrs = splitList(method.slice("cidr=".length));
        for (const c of cidrs) if (!familyOfCidr(c)) throw new MethodError(`invalid CIDR ${JSON.stringify(c)} in autodetection method ${method}`);
        return { kind: "cidr", cidrs };
    }
    if (method.startsWith("can-reach=")) return { kind: "can-reach", destination: method.slice("can-reach=".length) };
    if (method === "kubernetes-internal-ip") return { kind: "kubernetes-internal-ip" };
    throw new MethodError(`invalid IP autodetection method ${JSON.stringify(method)} (calico-node terminates on it)`);
}

function joined(regexes: string[]): RegExp | undefined {
    if (regexes.length === 0) return undefined;
    try {
        return new RegExp(`(${regexes.join(")|(")})`);
    } catch (e) {
        throw new MethodError(`invalid interface regex in ${regexes.join(",")}: ${(e as Error).message}`);
    }
}

export interface Detected {
    interface: string;
    address: string;
    prefixLength: number;
}

export interface DetectionResult {
    found?: Detected;
    /** Calico's message when nothing qualifies. */
    error?: string;
    /** Interfaces Calico looked at, in its (reverse) order. */
    candidates: HostInterface[];
}

/**
 * What calico-node's IPv6 autodetection would pick from these interfaces. `can-reach=` and
 * `kubernetes-internal-ip` depend on routing and the Node object, so they are not emulated.
 */
export function autodetectIPv6(interfaces: HostInterface[], method: string): DetectionResult {
    const m = parseMethod(method);
    let include: RegExp | undefined;
    let exclude: RegExp | undefined;
    let cidrs: string[] | undefined;
    switch (m.kind) {
        case "first-found":
            exclude = joined(DEFAULT_INTERFACES_TO_EXCLUDE);
            break;
        case "interface":
            // interface= uses only the given regexes: the default exclusions do not apply.
            include = joined(m.include);
            break;
        case "skip-interface":
            exclude = joined([...DEFAULT_INTERFACES_TO_EXCLUDE, ...m.exclude]);
            break;
        case "cidr":
            // cidr= filters no interface at all.
            cidrs = m.cidrs;
            break;
        default:
            throw new MethodError(`autodetection method ${method} is not emulated (it needs routing or the Kubernetes Node)`);
    }
    const candidates: HostInterface[] = [];
    for (let idx = interfaces.length - 1; idx >= 0; idx--) {
        const i = interfaces[idx];
        const inc = include === undefined || include.test(i.name);
        const exc = exclude !== undefined && exclude.test(i.name);
        if (inc && !exc) candidates.push(i);
    }
    for (const i of candidates) {
        for (const a of i.addresses) {
            if (a.family !== "inet6") continue;
            if (!isGoGlobalUnicastV6(a.address)) continue;
            if (cidrs && !cidrs.some((c) => cidrContainsAddress(c, a.address))) continue;
            return { found: { interface: i.name, address: a.address, prefixLength: a.prefixLength }, candidates };
        }
    }
    return { error: "no valid IPv6 addresses found on the host interfaces", candidates };
}

/** The host after the ipv6 step: the planned address added first on its interface (the kernel lists the newest global address first). */
export function withPlannedAddress(facts: HostFacts, node: PlannedNode): HostFacts {
    return {
        ...facts,
        interfaces: facts.interfaces.map((i) => {
            if (i.name !== node.interface || i.addresses.some((a) => a.family === "inet6" && a.address === node.ipv6)) return i;
            const v4 = i.addresses.filter((a) => a.family === "inet");
            const v6 = i.addresses.filter((a) => a.family === "inet6");
            return { ...i, addresses: [...v4, { family: "inet6", address: node.ipv6, prefixLength: node.ipv6PrefixLength, scope: "global", flags: ["nodad"] }, ...v6] };
        }),
    };
}

export interface PreflightResult {
    ok: boolean;
    /** Set when not ok: names host, interface and addresses. */
    message?: string;
    detected?: Detected;
    /** Problems that do not stop the deployment. */
    warnings: string[];
}

/**
 * Would calico-node, with `method`, detect exactly the node's planned IPv6 address on this host?
 * `facts` is the host as it is (or as it will be: see `withPlannedAddress`).
 */
export function preflight(args: { host: string; node: PlannedNode; facts: HostFacts; method: string }): PreflightResult {
    const { host, node, facts, method } = args;
    const who = `host ${node.name} (${host})`;
    const warnings: string[] = [];
    const iface = facts.interfaces.find((i) => i.name === node.interface);
    if (!iface) {
        return {
            ok: false,
            warnings,
            message: `${who}: interface ${node.interface} does not exist; the host has ${facts.interfaces.map((i) => i.name).join(", ") || "no interfaces"}. Set dualstack:nodes[${node.index}].interface to the uplink's name.`,
        };
    }
    const seen = facts.interfaces
        .filter((i) => i.addresses.some((a) => a.family === "inet6"))
        .map((i) => `${i.name}: ${describeIPv6(i)}`)
        .join("; ");
    let r: DetectionResult;
    try {
        r = autodetectIPv6(facts.interfaces, method);
    } catch (e) {
        return { ok: false, warnings, message: `${who}: ${(e as Error).message}` };
    }
    if (!r.found) {
        return {
            ok: false,
            warnings,
            message:
                `${who}: calico-node IPv6 autodetection (${method}) would find no address ("${r.error}"); ` +
                `interface ${node.interface} has ${describeIPv6(iface)}, planned ${node.ipv6Cidr}. ` +
                `IPv6 addresses on the host: ${seen || "none"}. Calico accepts only addresses Go's net.IP.IsGlobalUnicast accepts (not link-local fe80::/10).`,
        };
    }
    if (r.found.address !== node.ipv6 || r.found.interface !== node.interface) {
        return {
            ok: false,
            warnings,
            detected: r.found,
            message:
                `${who}: calico-node IPv6 autodetection (${method}) would pick ${r.found.address}/${r.found.prefixLength} on ${r.found.interface}, ` +
                `not the planned ${node.ipv6Cidr} on ${node.interface}. IPv6 addresses on the host: ${seen}. ` +
                `Remove the other address from the node prefix, or give this node that address (dualstack:nodes[${node.index}].ipv6).`,
        };
    }
    // Another address of the same method's range on the same interface: order after a reboot is
    // not ours to decide (the kernel lists the newest first), so Calico might then pick it.
    const m = parseMethod(method);
    const others = iface.addresses.filter(
        (a) => a.family === "inet6" && a.address !== node.ipv6 && isGoGlobalUnicastV6(a.address) && (m.kind !== "cidr" || m.cidrs.some((c) => cidrContainsAddress(c, a.address))),
    );
    if (others.length > 0) {
        warnings.push(
            `${who}: ${node.interface} also has ${others.map((a) => `${a.address}/${a.prefixLength}`).join(", ")}, which ${method} would accept too; after a reboot calico-node may pick it instead of ${node.ipv6}.`,
        );
    }
    return { ok: true, warnings, detected: r.found };
}

/** Warnings from facts that do not stop host preparation. */
export function factWarnings(host: string, node: PlannedNode, facts: HostFacts): string[] {
    const who = `host ${node.name} (${host})`;
    const out: string[] = [];
    if (facts.ipv6DefaultRoutes.length === 0) {
        out.push(
            `${who} has no IPv6 default route: pods get no IPv6 egress (Calico lists a default route as a requirement for IPv6 egress), and node-ip auto-detection would skip IPv6 (the plan passes node-ip explicitly).`,
        );
    }
    if (facts.networkManager === "networkd") {
        out.push(`${who}: systemd-networkd manages ${node.interface} without netplan; the address is persisted with a oneshot unit, and networkd may drop it when it reconfigures the link (systemd PR #1851). Prefer adding it to the .network file.`);
    }
    if (facts.persistence === "none") {
        out.push(`${who}: no supported network manager and no systemd; the address is added now but not persisted across reboots.`);
    }
    const iface = facts.interfaces.find((i) => i.name === node.interface);
    if (facts.recorded === "" && iface?.addresses.some((a) => a.family === "inet6" && a.address === node.ipv6)) {
        out.push(`${who}: ${node.ipv6} is already on ${node.interface}; it is left as it is and not persisted by dualstack (keep it in the host's own network config).`);
    }
    return out;
}
