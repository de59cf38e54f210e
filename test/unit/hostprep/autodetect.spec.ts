import * as assert from "node:assert/strict";
import fc from "fast-check";
import { autodetectIPv6, DEFAULT_INTERFACES_TO_EXCLUDE, parseMethod, preflight, withPlannedAddress, factWarnings } from "../../../components/hostprep/autodetect";
import { HostFacts, HostInterface, parseFacts } from "../../../components/hostprep/facts";
import { cidrContainsAddress, isGoGlobalUnicastV6 } from "../../../components/net";
import { planOf } from "../../support/configs";

/** An interface as `ip -j addr` reports it, IPv6 addresses given as `addr/len`. */
function iface(index: number, name: string, ...v6: string[]): HostInterface {
    return {
        index,
        name,
        flags: ["UP"],
        operstate: "UP",
        addresses: v6.map((c) => {
            const [address, len] = c.split("/");
            return { family: "inet6" as const, address, prefixLength: Number(len), scope: address.startsWith("fe80") ? "link" : "global", flags: [] };
        }),
    };
}

function facts(interfaces: HostInterface[], extra: Partial<HostFacts> = {}): HostFacts {
    return {
        hostname: "h",
        user: "root",
        uid: 0,
        viaSudo: false,
        os: { id: "debian", versionId: "12", prettyName: "Debian" },
        init: "systemd",
        networkManager: "none",
        persistence: "systemd",
        nmConnection: "",
        recorded: "",
        sysctl: { ipv4Forward: "0", ipv6Forwarding: "0", ipv6AcceptRa: "1" },
        interfaces,
        ipv6DefaultRoutes: [{ dev: "eth0", gateway: "fe80::1" }],
        ...extra,
    };
}

const LL = "fe80::1c2:3ff:fe04:506/64";

describe("Calico IPv6 autodetection emulation (calico v3.32.1 autodetection/*.go)", () => {
    const table: { title: string; ifaces: HostInterface[]; method: string; expect?: [string, string] }[] = [
        { title: "link-local only: nothing (Go IsGlobalUnicast rejects fe80::/10)", ifaces: [iface(1, "lo", "::1/128"), iface(2, "eth0", LL)], method: "first-found" },
        { title: "loopback and multicast never count", ifaces: [iface(1, "lo", "::1/128"), iface(2, "wg0", "ff02::1/128")], method: "interface=.*" },
        { title: "docker0 is excluded by default", ifaces: [iface(2, "eth0", LL), iface(3, "docker0", "fd00:d0c::1/64")], method: "first-found" },
        { title: "veth* is excluded by default", ifaces: [iface(2, "eth0", LL), iface(3, "veth1a2b", "fd00:e7::1/64")], method: "first-found" },
        { title: "cali* is excluded by default", ifaces: [iface(2, "eth0", LL), iface(3, "cali12345", "fd00:ca::1/64")], method: "first-found" },
        { title: "^lo excludes every name starting with lo", ifaces: [iface(2, "eth0", LL), iface(3, "lo1", "fd00:10::1/64")], method: "first-found" },
        { title: "br0 is not excluded (only br-*)", ifaces: [iface(2, "eth0", LL), iface(3, "br0", "fd00:b0::1/64")], method: "first-found", expect: ["br0", "fd00:b0::1"] },
        { title: "interfaces are walked in REVERSE kernel order", ifaces: [iface(2, "eth0", "fd00:1::a/64"), iface(3, "eth1", "fd00:2::b/64")], method: "first-found", expect: ["eth1", "fd00:2::b"] },
        { title: "within an interface, the first listed address wins", ifaces: [iface(2, "eth0", "fd00:1::a/64", "fd00:1::b/64")], method: "first-found", expect: ["eth0", "fd00:1::a"] },
        { title: "ULA is accepted", ifaces: [iface(2, "eth0", LL, "fd45:a71:55a6:1::10/64")], method: "first-found", expect: ["eth0", "fd45:a71:55a6:1::10"] },
        { title: "deprecated site-local fec0::/10 is accepted", ifaces: [iface(2, "eth0", "fec0::5/64")], method: "first-found", expect: ["eth0", "fec0::5"] },
        { title: "documentation prefix 2001:db8::/32 is accepted", ifaces: [iface(2, "eth0", "2001:db8::5/64")], method: "first-found", expect: ["eth0", "2001:db8::5"] },
        { title: "cidr= ignores interface exclusions (docker0 counts)", ifaces: [iface(2, "eth0", LL), iface(3, "docker0", "fd00:d0c::1/64")], method: "cidr=fd00:d0c::/64", expect: ["docker0", "fd00:d0c::1"] },
        { title: "cidr= skips addresses outside the CIDRs", ifaces: [iface(2, "eth0", "fd00:1::a/64"), iface(3, "eth1", "fd00:2::b/64")], method: "cidr=fd00:1::/64", expect: ["eth0", "fd00:1::a"] },
        { title: "cidr= takes a list split on commas with spaces", ifaces: [iface(2, "eth0", "fd00:9::a/64")], method: "cidr=fd00:1::/64 , fd00:9::/64", expect: ["eth0", "fd00:9::a"] },
        { title: "skip-interface= adds to the defaults (docker0 still skipped)", ifaces: [iface(2, "eth0", "fd00:1::a/64"), iface(3, "eth1", "fd00:2::b/64"), iface(4, "docker0", "fd00:3::c/64")], method: "skip-interface=eth1", expect: ["eth0", "fd00:1::a"] },
        { title: "interface= applies no default exclusions", ifaces: [iface(2, "eth0", LL), iface(3, "docker0", "fd00:d0c::1/64")], method: "interface=docker.*", expect: ["docker0", "fd00:d0c::1"] },
        { title: "interface= regexes are unanchored (eth matches veth0)", ifaces: [iface(2, "eth0", LL), iface(3, "veth0", "fd00:e7::1/64")], method: "interface=eth", expect: ["veth0", "fd00:e7::1"] },
        { title: "interface= with several regexes", ifaces: [iface(2, "ens5", "fd00:5::1/64"), iface(3, "wg0", "fd00:77::1/64")], method: "interface=^ens.*, ^eno.*", expect: ["ens5", "fd00:5::1"] },
    ];
    for (const t of table) {
        it(`${t.title} [${t.method}]`, () => {
            const r = autodetectIPv6(t.ifaces, t.method);
            if (t.expect) {
                assert.deepEqual([r.found?.interface, r.found?.address], t.expect);
            } else {
                assert.equal(r.found, undefined);
                assert.equal(r.error, "no valid IPv6 addresses found on the host interfaces");
            }
        });
    }

    it("the default exclusions are Calico's list, in its order", () => {
        assert.equal(DEFAULT_INTERFACES_TO_EXCLUDE.length, 19);
        assert.equal(DEFAULT_INTERFACES_TO_EXCLUDE[7], "^lo");
        assert.ok(DEFAULT_INTERFACES_TO_EXCLUDE.includes("^br-.*") && DEFAULT_INTERFACES_TO_EXCLUDE.includes("^nodelocaldns.*"));
    });

    it("an unknown method is refused (calico-node terminates on it); routing-based methods are not emulated", () => {
        assert.throws(() => parseMethod("first_found"), /invalid IP autodetection method/);
        assert.throws(() => parseMethod("cidr=not-a-cidr"), /invalid CIDR/);
        assert.deepEqual(parseMethod(""), { kind: "first-found" });
        assert.throws(() => autodetectIPv6([], "can-reach=2001:4860:4860::8888"), /not emulated/);
        assert.throws(() => autodetectIPv6([], "kubernetes-internal-ip"), /not emulated/);
    });

    const arbIface = fc
        .tuple(
            fc.constantFrom("eth0", "eth1", "ens5", "docker0", "veth9", "cali1", "br0", "br-x", "lo", "wg0", "bond0"),
            fc.array(fc.constantFrom("fe80::1/64", "fd00:1::5/64", "fd00:2::6/64", "fec0::7/64", "2001:db8::8/64", "::1/128", "ff02::1/128"), { maxLength: 3 }),
        )
        .map(([name, addrs]) => ({ name, addrs }));

    it("property: the pick is eligible, and no interface walked before it has an eligible address", () => {
        fc.assert(
            fc.property(fc.uniqueArray(arbIface, { selector: (x) => x.name, maxLength: 6 }), fc.constantFrom("first-found", "cidr=fd00:1::/64", "skip-interface=eth.*", "interface=e.*"), (list, method) => {
                const ifaces = list.map((x, i) => iface(i + 1, x.name, ...x.addrs));
                const m = parseMethod(method);
                const excluded = (n: string) =>
                    (m.kind === "first-found" || m.kind === "skip-interface") &&
                    [...DEFAULT_INTERFACES_TO_EXCLUDE, ...(m.kind === "skip-interface" ? m.exclude : [])].some((re) => new RegExp(re).test(n));
                const included = (n: string) => (m.kind === "interface" ? m.include.some((re) => new RegExp(re).test(n)) : true);
                const ok = (a: string) => isGoGlobalUnicastV6(a) && (m.kind !== "cidr" || m.cidrs.some((c) => cidrContainsAddress(c, a)));
                const eligible = ifaces.filter((i) => included(i.name) && !excluded(i.name) && i.addresses.some((a) => ok(a.address)));
                const r = autodetectIPv6(ifaces, method);
                if (eligible.length === 0) return r.found === undefined;
                const last = eligible[eligible.length - 1];
                return r.found?.interface === last.name && r.found.address === last.addresses.find((a) => ok(a.address))!.address;
            }),
        );
    });
});

describe("HostPrep preflight", () => {
    const plan = planOf();
    const node = plan.nodes[0];
    const method = plan.autodetection.ipv6Method;

    it("a link-local-only host: a clear error naming host, interface and its addresses", () => {
        const r = preflight({ host: node.host, node, facts: facts([iface(1, "lo", "::1/128"), iface(2, "eth0", LL)]), method });
        assert.equal(r.ok, false);
        assert.equal(
            r.message,
            `host cp1 (192.168.121.135): calico-node IPv6 autodetection (${method}) would find no address ("no valid IPv6 addresses found on the host interfaces"); ` +
                `interface eth0 has fe80::1c2:3ff:fe04:506/64 (link), planned ${node.ipv6Cidr}. ` +
                "IPv6 addresses on the host: lo: ::1/128 (global); eth0: fe80::1c2:3ff:fe04:506/64 (link). Calico accepts only addresses Go's net.IP.IsGlobalUnicast accepts (not link-local fe80::/10).",
        );
    });

    it("after the ipv6 step (planned address added first on its interface) the method finds exactly it", () => {
        const before = facts([iface(1, "lo", "::1/128"), iface(2, "eth0", "fd45:a71:55a6:1::99/64", LL)]);
        const after = withPlannedAddress(before, node);
        assert.equal(after.interfaces[1].addresses[0].address, node.ipv6);
        const r = preflight({ host: node.host, node, facts: after, method });
        assert.equal(r.ok, true);
        assert.deepEqual(r.detected, { interface: "eth0", address: node.ipv6, prefixLength: 64 });
        // The other address in the prefix could win after a reboot: a warning, not a failure.
        assert.equal(r.warnings.length, 1);
        assert.match(r.warnings[0], /eth0 also has fd45:a71:55a6:1::99\/64/);
        assert.deepEqual(withPlannedAddress(after, node), after, "adding is idempotent");
    });

    it("refuses when an interface walked first carries another address of the node prefix", () => {
        const f = withPlannedAddress(facts([iface(2, "eth0", LL), iface(7, "ens9", "fd45:a71:55a6:1::bad/64")]), node);
        const r = preflight({ host: node.host, node, facts: f, method });
        assert.equal(r.ok, false);
        assert.match(r.message!, /^host cp1 \(192\.168\.121\.135\): calico-node IPv6 autodetection \(cidr=fd45:a71:55a6:1::\/64\) would pick fd45:a71:55a6:1::bad\/64 on ens9, not the planned fd45:a71:55a6:1::[0-9a-f:]+\/64 on eth0/);
    });

    it("refuses a missing interface, listing the host's interfaces", () => {
        const r = preflight({ host: node.host, node, facts: facts([iface(1, "lo"), iface(2, "ens5", LL)]), method });
        assert.equal(r.ok, false);
        assert.match(r.message!, /interface eth0 does not exist; the host has lo, ens5\. Set dualstack:nodes\[0\]\.interface/);
    });

    it("warns (not fails) about a missing IPv6 default route, networkd, no persistence, and a pre-existing address", () => {
        const base = facts([iface(2, "eth0", LL)], { ipv6DefaultRoutes: [] });
        assert.match(factWarnings(node.host, node, base).join("\n"), /host cp1 \(192\.168\.121\.135\) has no IPv6 default route/);
        assert.deepEqual(factWarnings(node.host, node, { ...base, ipv6DefaultRoutes: [{ dev: "eth0" }] }), []);
        assert.match(factWarnings(node.host, node, { ...base, networkManager: "networkd" }).join("\n"), /systemd-networkd manages eth0 without netplan/);
        assert.match(factWarnings(node.host, node, { ...base, persistence: "none" }).join("\n"), /not persisted across reboots/);
        const present = facts([iface(2, "eth0", `${node.ipv6Cidr}`)]);
        assert.match(factWarnings(node.host, node, present).join("\n"), /already on eth0; it is left as it is/);
        assert.doesNotMatch(factWarnings(node.host, node, { ...present, recorded: "yes" }).join("\n"), /already on eth0/, "not when dualstack added it itself");
    });
});

describe("HostPrep facts parsing", () => {
    const doc = (over: Record<string, unknown> = {}) =>
        JSON.stringify({
            schema: 1,
            hostname: "h1",
            user: "ubuntu",
            osPrettyName: "Ubuntu 24.04 LTS",
            osVersionId: "24.04",
            osId: "ubuntu",
            init: "systemd",
            networkManager: "netplan",
            persistence: "netplan",
            nmConnection: "",
            recorded: "",
            ipv4Forward: "0",
            ipv6Forwarding: "0",
            ipv6AcceptRa: "1",
            uid: 0,
            viaSudo: true,
            interfaces: [
                { ifindex: 1, ifname: "lo", flags: ["LOOPBACK", "UP"], operstate: "UNKNOWN", addr_info: [{ family: "inet", local: "127.0.0.1", prefixlen: 8, scope: "host" }, { family: "inet6", local: "::1", prefixlen: 128, scope: "host" }] },
                {
                    ifindex: 2,
                    ifname: "ens5",
                    flags: ["BROADCAST", "UP"],
                    operstate: "UP",
                    addr_info: [
                        { family: "inet", local: "10.0.0.5", prefixlen: 24, scope: "global", dynamic: true },
                        { family: "inet6", local: "2001:DB8:0:0::0:5", prefixlen: 64, scope: "global", dynamic: true, mngtmpaddr: true },
                        { family: "inet6", local: "fe80::5", prefixlen: 64, scope: "link", tentative: true },
                    ],
                },
            ],
            ipv6DefaultRoutes: [{ dst: "default", gateway: "fe80::1", dev: "ens5", metric: 1024 }],
            ...over,
        });

    it("reads the document the facts script prints, canonicalising IPv6 addresses and keeping flags", () => {
        const f = parseFacts(doc());
        assert.deepEqual(f.os, { id: "ubuntu", versionId: "24.04", prettyName: "Ubuntu 24.04 LTS" });
        assert.equal(f.networkManager, "netplan");
        assert.equal(f.viaSudo, true);
        assert.deepEqual(f.sysctl, { ipv4Forward: "0", ipv6Forwarding: "0", ipv6AcceptRa: "1" });
        assert.deepEqual(f.interfaces.map((i) => i.name), ["lo", "ens5"]);
        assert.deepEqual(f.interfaces[1].addresses[1], { family: "inet6", address: "2001:db8::5", prefixLength: 64, scope: "global", flags: ["mngtmpaddr", "dynamic"] });
        assert.deepEqual(f.interfaces[1].addresses[2].flags, ["tentative"]);
        assert.deepEqual(f.ipv6DefaultRoutes, [{ dev: "ens5", gateway: "fe80::1" }]);
    });

    for (const [title, text, re] of [
        ["not JSON", "sudo: a password is required", /host facts are not JSON/],
        ["another schema", JSON.stringify({ schema: 2 }), /schema 1 expected/],
        ["an unknown network manager", doc({ networkManager: "wicked" }), /unknown network manager "wicked"/],
        ["an unknown persistence", doc({ persistence: "rc.local" }), /unknown persistence/],
        ["interfaces missing", doc({ interfaces: "eth0" }), /interfaces is not a list/],
    ] as const) {
        it(`refuses ${title}`, () => assert.throws(() => parseFacts(text), re));
    }
});
