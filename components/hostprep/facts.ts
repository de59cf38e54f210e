// Host facts: the JSON document the facts step prints (scripts.ts `factsScript`), parsed and
// checked here. Pure: no Pulumi, no I/O.
import { canonicalIPv6, familyOfAddress } from "../net";
import { PERSISTENCE_KINDS, Persistence } from "./scripts";

export type NetworkManagerKind = "netplan" | "networkmanager" | "networkd" | "ifupdown" | "none";
const MANAGERS: NetworkManagerKind[] = ["netplan", "networkmanager", "networkd", "ifupdown", "none"];

export interface HostAddress {
    family: "inet" | "inet6";
    /** Canonical text (RFC 5952 for IPv6). */
    address: string;
    prefixLength: number;
    /** `global`, `link`, `host`, `site`. */
    scope: string;
    /** Address flags as `ip -j` reports them (`tentative`, `nodad`, `dynamic`, `temporary`, ...). */
    flags: string[];
}

export interface HostInterface {
    index: number;
    name: string;
    /** Link flags, e.g. `UP`, `LOOPBACK`. */
    flags: string[];
    operstate: string;
    /** In kernel (netlink dump) order, as Calico sees them. */
    addresses: HostAddress[];
}

export interface HostFacts {
    hostname: string;
    user: string;
    uid: number;
    viaSudo: boolean;
    os: { id: string; versionId: string; prettyName: string };
    init: string;
    networkManager: NetworkManagerKind;
    /** What the ipv6 step would persist the address with on this host. */
    persistence: Persistence;
    nmConnection: string;
    /** What an earlier ipv6 step recorded on the host: "yes" (it added the address), "no", or "" (nothing). */
    recorded: string;
    sysctl: { ipv4Forward: string; ipv6Forwarding: string; ipv6AcceptRa: string };
    /** Whether the ip_vs kernel module is loaded, built in or loadable; undefined when not reported. */
    ipvsModule?: boolean;
    /** In kernel ifindex order (`ip -j addr`), as Go's net.Interfaces returns them. */
    interfaces: HostInterface[];
    ipv6DefaultRoutes: { dev: string; gateway?: string }[];
}

export class FactsError extends Error {}

const ADDRESS_FLAGS = ["tentative", "dadfailed", "deprecated", "temporary", "mngtmpaddr", "nodad", "optimistic", "dynamic", "noprefixroute", "home", "autojoin", "stable-privacy"];

function str(v: unknown, what: string): string {
    if (typeof v !== "string") throw new FactsError(`host facts: ${what} is not a string`);
    return v;
}

/** Parses the facts step's stdout; throws FactsError saying what is wrong. */
export function parseFacts(stdout: string): HostFacts {
    let doc: any;
    try {
        doc = JSON.parse(stdout);
    } catch (e) {
        throw new FactsError(`host facts are not JSON (${(e as Error).message}): ${stdout.slice(0, 200)}`);
    }
    if (doc === null || typeof doc !== "object" || doc.schema !== 1) throw new FactsError("host facts: unknown document (schema 1 expected)");
    if (!Array.isArray(doc.interfaces)) throw new FactsError("host facts: interfaces is not a list (ip -j addr)");
    const interfaces: HostInterface[] = doc.interfaces.map((i: any, n: number) => ({
        index: typeof i.ifindex === "number" ? i.ifindex : n + 1,
        name: str(i.ifname, `interfaces[${n}].ifname`),
        flags: Array.isArray(i.flags) ? i.flags.map(String) : [],
        operstate: typeof i.operstate === "string" ? i.operstate : "UNKNOWN",
        addresses: (Array.isArray(i.addr_info) ? i.addr_info : [])
            .filter((a: any) => (a.family === "inet" || a.family === "inet6") && typeof a.local === "string" && familyOfAddress(a.local))
            .map((a: any) => ({
                family: a.family,
                address: a.family === "inet6" ? canonicalIPv6(a.local) : a.local,
                prefixLength: Number(a.prefixlen),
                scope: typeof a.scope === "string" ? a.scope : String(a.scope ?? ""),
                flags: ADDRESS_FLAGS.filter((f) => a[f] === true),
            })),
    }));
    const manager = doc.networkManager as NetworkManagerKind;
    if (!MANAGERS.includes(manager)) throw new FactsError(`host facts: unknown network manager ${JSON.stringify(doc.networkManager)}`);
    const persistence = doc.persistence as Persistence;
    if (!PERSISTENCE_KINDS.includes(persistence)) throw new FactsError(`host facts: unknown persistence ${JSON.stringify(doc.persistence)}`);
    const routes = Array.isArray(doc.ipv6DefaultRoutes) ? doc.ipv6DefaultRoutes : [];
    return {
        hostname: str(doc.hostname, "hostname"),
        user: str(doc.user, "user"),
        uid: Number(doc.uid),
        viaSudo: doc.viaSudo === true,
        os: { id: String(doc.osId ?? ""), versionId: String(doc.osVersionId ?? ""), prettyName: String(doc.osPrettyName ?? "") },
        init: str(doc.init, "init").trim(),
        networkManager: manager,
        persistence,
        nmConnection: String(doc.nmConnection ?? ""),
        recorded: typeof doc.recorded === "string" ? doc.recorded : "",
        sysctl: {
            ipv4Forward: String(doc.ipv4Forward ?? "").trim(),
            ipv6Forwarding: String(doc.ipv6Forwarding ?? "").trim(),
            ipv6AcceptRa: String(doc.ipv6AcceptRa ?? "").trim(),
        },
        ...(doc.ipvsModule === "yes" || doc.ipvsModule === "no" ? { ipvsModule: doc.ipvsModule === "yes" } : {}),
        interfaces,
        ipv6DefaultRoutes: routes
            .filter((r: any) => r && r.dst === "default")
            .map((r: any) => ({ dev: String(r.dev ?? ""), ...(typeof r.gateway === "string" ? { gateway: r.gateway } : {}) })),
    };
}

/** Every IPv6 address of an interface as `addr/len`, for messages. */
export function describeIPv6(iface: HostInterface): string {
    const v6 = iface.addresses.filter((a) => a.family === "inet6");
    return v6.length === 0 ? "no IPv6 address" : v6.map((a) => `${a.address}/${a.prefixLength} (${a.scope})`).join(", ");
}
