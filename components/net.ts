// Small IP helpers over ip-num. No CIDR arithmetic is written by hand: parsing, containment,
// overlap and sizes come from ip-num; the canonical (RFC 5952) text form comes from WHATWG URL.
import { IPv4, IPv4CidrRange, IPv6, IPv6CidrRange, Validator } from "ip-num";

export type Family = "IPv4" | "IPv6";

export function familyOfAddress(text: string): Family | undefined {
    if (Validator.isValidIPv4String(text)[0]) return "IPv4";
    if (!text.includes("%") && Validator.isValidIPv6String(text)[0]) return "IPv6";
    return undefined;
}

export function familyOfCidr(text: string): Family | undefined {
    if (Validator.isValidIPv4CidrNotation(text)[0]) return "IPv4";
    if (Validator.isValidIPv6CidrNotation(text)[0]) return "IPv6";
    return undefined;
}

/** True when the CIDR parses and its address is the network address (no host bits set). */
export function isAlignedCidr(text: string): boolean {
    const fam = familyOfCidr(text);
    if (fam === "IPv4") return Validator.isValidIPv4CidrRange(text)[0];
    if (fam === "IPv6") return Validator.isValidIPv6CidrRange(text)[0];
    return false;
}

export function cidrRange(text: string): IPv4CidrRange | IPv6CidrRange {
    return familyOfCidr(text) === "IPv4" ? IPv4CidrRange.fromCidr(text) : IPv6CidrRange.fromCidr(text);
}

export function prefixLength(cidr: string): number {
    return Number(cidrRange(cidr).getPrefix().getValue());
}

export function addressBits(family: Family): number {
    return family === "IPv4" ? 32 : 128;
}

/** RFC 5952 text of an IPv6 address (what `ip -j addr` prints), via the URL parser's serializer. */
export function canonicalIPv6(text: string): string {
    return new URL(`http://[${IPv6.fromString(text).toString()}]/`).hostname.slice(1, -1);
}

export function canonicalAddress(text: string): string {
    return familyOfAddress(text) === "IPv6" ? canonicalIPv6(text) : IPv4.fromDecimalDottedString(text).toString();
}

/** The canonical network CIDR, e.g. `fd45:a71:55a6:1::/64`. */
export function canonicalCidr(text: string): string {
    const range = cidrRange(text);
    const first = range.getFirst().toString();
    const len = range.getPrefix().getValue();
    return familyOfCidr(text) === "IPv6" ? `${canonicalIPv6(first)}/${len}` : `${first}/${len}`;
}

export function cidrContainsAddress(cidr: string, address: string): boolean {
    const fam = familyOfCidr(cidr);
    if (fam !== familyOfAddress(address)) return false;
    return fam === "IPv4"
        ? IPv4CidrRange.fromCidr(cidr).contains(IPv4.fromDecimalDottedString(address))
        : IPv6CidrRange.fromCidr(cidr).contains(IPv6.fromString(address));
}

export function cidrsOverlap(a: string, b: string): boolean {
    const fa = familyOfCidr(a);
    if (fa !== familyOfCidr(b)) return false;
    return fa === "IPv4"
        ? IPv4CidrRange.fromCidr(a).isOverlapping(IPv4CidrRange.fromCidr(b))
        : IPv6CidrRange.fromCidr(a).isOverlapping(IPv6CidrRange.fromCidr(b));
}

/** The address at `offset` inside `cidr` (offset 0 is the network address). */
export function addressAt(cidr: string, offset: bigint): string {
    const range = cidrRange(cidr);
    const first = range.getFirst().getValue();
    return familyOfCidr(cidr) === "IPv4"
        ? IPv4.fromNumber(first + offset).toString()
        : canonicalIPv6(IPv6.fromBigInt(first + offset).toString());
}

export function hostOffset(cidr: string, address: string): bigint {
    const range = cidrRange(cidr);
    const value = familyOfCidr(cidr) === "IPv4" ? IPv4.fromDecimalDottedString(address).getValue() : IPv6.fromString(address).getValue();
    return value - range.getFirst().getValue();
}

/**
 * Go's net.IP.IsGlobalUnicast for IPv6, which is the test Calico's autodetection and Kubernetes'
 * ChooseHostInterface apply: everything except link-local fe80::/10, loopback, multicast and
 * unspecified. ULA, deprecated site-local and documentation prefixes all pass.
 */
export function isGoGlobalUnicastV6(address: string): boolean {
    const ip = IPv6.fromString(address);
    const inRange = (cidr: string) => IPv6CidrRange.fromCidr(cidr).contains(ip);
    return !inRange("fe80::/10") && !inRange("ff00::/8") && !inRange("::1/128") && !inRange("::/128");
}

/** `host:port` with an IPv6 literal in brackets. */
export function hostPort(host: string, port: number): string {
    return familyOfAddress(host) === "IPv6" ? `[${canonicalIPv6(host)}]:${port}` : `${host}:${port}`;
}

export function httpsUrl(host: string, port: number): string {
    return `https://${hostPort(host, port)}`;
}
