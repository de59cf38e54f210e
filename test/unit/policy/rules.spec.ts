// The policy pack's pure rules against recorded resource inputs (test/fixtures/policy, see its README),
// plus properties over generated inputs and the preview behaviour with unknown values.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { unknownCheckingProxy, UnknownValueError } from "@pulumi/policy";
import { cleanupOwnerLine } from "../../../components/steps";
import {
    calicoIpv6NatOutgoing,
    checkAll,
    CLEANUP_OWNER_PREFIX,
    CREDENTIAL_MARKERS,
    credentialCommandsSilent,
    findString,
    installCommandsReversible,
    noIpv6DualStackGate,
    ResourceData,
    RULES,
    traefikServiceDualStack,
} from "../../../policy/rules";

const FIXTURES = path.resolve(__dirname, "..", "..", "fixtures", "policy");
const GOOD = ["lab-k3s.good.json", "lab-k0s.good.json", "custom-calico.good.json"];

function load(file: string): ResourceData[] {
    return JSON.parse(fs.readFileSync(path.join(FIXTURES, file), "utf8")) as ResourceData[];
}

function byName(file: string, name: string): ResourceData {
    const r = load(file).find((x) => x.name === name);
    if (!r) throw new Error(`${file} has no resource ${name}`);
    return r;
}

/** Each expected violation, in order: the rule that reports it and a fragment of its message. */
const BAD: Record<string, [rule: string, fragment: string][]> = {
    "traefik-pre-v40-layout": [
        ["traefik-service-dual-stack", "values.service.ipFamilies, which chart >= 40 silently ignores"],
        ["traefik-service-dual-stack", "values.service.ipFamilyPolicy, which chart >= 40 silently ignores"],
        ["traefik-service-dual-stack", "values.service.type, which chart >= 40 silently ignores; move it to values.service.spec.type"],
        ["traefik-service-dual-stack", "ipFamilyPolicy to null; it must be \"RequireDualStack\""],
        ["traefik-service-dual-stack", "ipFamilies to null; it must list both families"],
    ],
    "traefik-prefer-single-family": [
        ["traefik-service-dual-stack", "ipFamilyPolicy to \"PreferDualStack\""],
        ["traefik-service-dual-stack", "ipFamilies to [\"IPv4\"]"],
    ],
    "traefik-no-values": [["traefik-service-dual-stack", "values in valueYamlFiles cannot be checked"]],
    "calico-ipv6-nat-unset": [["calico-ipv6-nat-outgoing", "IPv6 pool fd45:a71:55a6:4200::/56 leaves natOutgoing unset, so the operator uses its IPv6 default (Disabled)"]],
    "calico-no-ipv6-pool": [["calico-ipv6-nat-outgoing", "has no IPv6 pool in calicoNetwork.ipPools"]],
    "calico-ipv6-nat-boolean": [["calico-ipv6-nat-outgoing", "has natOutgoing true; the operator accepts only \"Enabled\" or \"Disabled\""]],
    "k3s-kubeconfig-logged": [
        ["credential-commands-not-logged", "mentions \"k3s.yaml\") but logs its output (logging \"stdoutAndStderr (default)\")"],
        ["credential-commands-not-logged", "additionalSecretOutputs: [\"stdout\"]"],
    ],
    "k0s-token-logged": [["credential-commands-not-logged", "mentions \"token create\") but logs its output (logging \"stdoutAndStderr\")"]],
    "admin-conf-stdout-not-secret": [["credential-commands-not-logged", "mentions \"admin.conf\") but its stdout is not a secret"]],
    "k3s-install-irreversible": [
        ["install-commands-have-delete", "installs k3s (get.k3s.io) but has no delete"],
        ["install-commands-have-delete", "without deleteBeforeReplace: true"],
    ],
    "sysctl-blank-delete": [["install-commands-have-delete", "installs a sysctl drop-in (sysctl.d) but has no delete"]],
    "ipv6-address-create-before-delete": [["install-commands-have-delete", "installs an IPv6 address (ip -6 addr add) without deleteBeforeReplace"]],
    "upgrade-cleanup-owner-without-triggers": [["install-commands-have-delete", "says the delete of worker1-install cleans it up, but has no triggers"]],
    "k3s-config-with-removed-gate": [["no-ipv6dualstack-feature-gate", "mentions the IPv6DualStack feature gate at create;"]],
    "chart-values-gate-key": [["no-ipv6dualstack-feature-gate", "at values.args[1], values.kubelet.featureGates.IPv6DualStack;"]],
};

describe("policy rules: recorded resource inputs", () => {
    for (const file of GOOD) {
        it(`${file}: every resource passes every rule`, () => {
            const resources = load(file);
            assert.ok(resources.length > 0);
            assert.deepEqual(resources.flatMap((r) => checkAll(r)), []);
        });
    }

    it("the good recordings exercise every rule (each rule applies to at least one resource)", () => {
        const resources = GOOD.flatMap(load);
        const applies: Record<string, (r: ResourceData) => boolean> = {
            "traefik-service-dual-stack": (r) => r.type.endsWith(":Release") && String(r.props.chart).endsWith("traefik"),
            "calico-ipv6-nat-outgoing": (r) => r.type.endsWith(":Installation") || String(r.props.chart) === "tigera-operator",
            "credential-commands-not-logged": (r) => CREDENTIAL_MARKERS.some((m) => String(r.props.create).includes(m)),
            "no-ipv6dualstack-feature-gate": () => true,
            "install-commands-have-delete": (r) => r.props.delete !== undefined,
        };
        for (const rule of RULES) assert.ok(resources.some(applies[rule.name]), rule.name);
    });

    const bad = load("bad.json");
    for (const r of bad) {
        it(`bad.json ${r.name}: reports exactly the expected violations`, () => {
            const expected = BAD[r.name];
            assert.ok(expected, `bad.json resource ${r.name} has no expectation in the table`);
            const got = checkAll(r);
            assert.equal(got.length, expected.length, got.join("\n"));
            expected.forEach(([rule, fragment], i) => {
                assert.ok(got[i].startsWith(`${rule}: `), `violation ${i} comes from ${rule}: ${got[i]}`);
                assert.ok(got[i].includes(fragment), `violation ${i} mentions ${JSON.stringify(fragment)}: ${got[i]}`);
            });
        });
    }

    it("the expectation table names only resources that exist in bad.json", () => {
        assert.deepEqual(Object.keys(BAD).sort(), bad.map((r) => r.name).sort());
    });
});

describe("policy rules: a command whose changes another step's delete removes", () => {
    // As the program registers it: no create, the installer on update (components/batches.ts).
    const upgrade = (update: string, triggers?: unknown[]): ResourceData => ({
        type: "command:remote:Command",
        name: "cluster-worker1-upgrade",
        props: { update: `sh -c 'set -eu\n${update}'`, ...(triggers ? { triggers } : {}) },
        opts: { additionalSecretOutputs: [], deleteBeforeReplace: false },
    });
    const installer = 'INSTALL_K3S_VERSION=v1.33.5+k3s1 sh "$tmp/install.sh" agent\n';

    it("passes with the program's marker line (components/steps.ts cleanupOwnerLine) and a trigger tying it to its owner", () => {
        const line = cleanupOwnerLine("worker1-install");
        assert.ok(line.startsWith(CLEANUP_OWNER_PREFIX), "the program writes the line the policy reads");
        assert.deepEqual(installCommandsReversible(upgrade(`${installer}${line}\n`, ["cluster-worker1-install-id"])), []);
    });

    it("stays strict otherwise: no marker, a marker without triggers, a marker that is not a line of its own", () => {
        assert.equal(installCommandsReversible(upgrade(installer, ["cluster-worker1-install-id"])).length, 2, "triggers alone excuse nothing");
        assert.match(installCommandsReversible(upgrade(`${installer}${cleanupOwnerLine("worker1-install")}\n`, []))[0], /no triggers/);
        assert.equal(installCommandsReversible(upgrade(`echo '${cleanupOwnerLine("worker1-install")}'; ${installer}`, ["x"])).length, 2, "the marker must be a line of its own");
        assert.throws(() => cleanupOwnerLine("worker1 install"));
    });
});

describe("policy rules: Calico NAT outgoing follows the policy config", () => {
    const enabledCr = byName("custom-calico.good.json", "calico-installation");
    const enabledRelease = byName("lab-k3s.good.json", "calico-operator");
    const disabled: ResourceData = JSON.parse(JSON.stringify(enabledCr));
    for (const pool of (disabled.props.spec as any).calicoNetwork.ipPools) pool.natOutgoing = "Disabled";

    const cases: { r: ResourceData; ipv6NatOutgoing: boolean; violations: number }[] = [
        { r: enabledCr, ipv6NatOutgoing: true, violations: 0 },
        { r: enabledCr, ipv6NatOutgoing: false, violations: 1 },
        { r: enabledRelease, ipv6NatOutgoing: false, violations: 1 },
        { r: disabled, ipv6NatOutgoing: false, violations: 0 },
        { r: disabled, ipv6NatOutgoing: true, violations: 1 },
    ];
    for (const c of cases) {
        it(`${c.r.name} with natOutgoing ${c.r === disabled ? "Disabled" : "Enabled"}, ipv6NatOutgoing=${c.ipv6NatOutgoing}: ${c.violations} violation(s)`, () => {
            const got = calicoIpv6NatOutgoing(c.r, { ipv6NatOutgoing: c.ipv6NatOutgoing });
            assert.equal(got.length, c.violations, got.join("\n"));
            if (c.violations) assert.match(got[0], new RegExp(`policy config expects ${c.ipv6NatOutgoing ? "Enabled" : "Disabled"}`));
        });
    }

    it("ignores the IPv4 pool's natOutgoing and non-Calico resources", () => {
        const v4Off: ResourceData = JSON.parse(JSON.stringify(enabledCr));
        for (const pool of (v4Off.props.spec as any).calicoNetwork.ipPools) if (!pool.cidr.includes(":")) pool.natOutgoing = "Disabled";
        assert.deepEqual(calicoIpv6NatOutgoing(v4Off, { ipv6NatOutgoing: true }), []);
        assert.deepEqual(calicoIpv6NatOutgoing(byName("lab-k3s.good.json", "traefik-release"), { ipv6NatOutgoing: false }), []);
    });
});

describe("policy rules: properties", () => {
    const FAMILIES = fc.array(fc.constantFrom("IPv4", "IPv6", "IPv5", ""), { maxLength: 4 });

    it("Traefik: ipFamilies passes exactly when it is IPv4 and IPv6 in either order", () => {
        fc.assert(
            fc.property(FAMILIES, (ipFamilies) => {
                const r: ResourceData = {
                    type: "kubernetes:helm.sh/v3:Release",
                    name: "traefik",
                    props: { chart: "traefik", values: { service: { spec: { ipFamilyPolicy: "RequireDualStack", ipFamilies } } } },
                };
                const ok = ipFamilies.length === 2 && new Set(ipFamilies).size === 2 && ipFamilies.every((f) => f === "IPv4" || f === "IPv6");
                assert.equal(traefikServiceDualStack(r).length === 0, ok);
            }),
        );
    });

    it("gate: found in any string or key at any depth, never reported when absent", () => {
        const needle = "IPv6DualStack";
        const clean = fc.jsonValue().filter((v) => !JSON.stringify(v).includes(needle));
        fc.assert(
            fc.property(clean, fc.string(), fc.string(), (v, pre, post) => {
                assert.deepEqual(noIpv6DualStackGate({ type: "t", name: "n", props: { a: v } }), []);
                assert.deepEqual(findString({ a: [v, `${pre}${needle}${post}`] }, needle), ["a[1]"]);
                const key = `${pre}${needle}${post}`;
                assert.ok(findString({ deep: { er: { [key]: v } } }, needle).includes(`deep.er.${key}`));
                assert.equal(noIpv6DualStackGate({ type: "t", name: "n", props: { x: [{ y: `${pre}${needle}${post}` }] } }).length, 1);
            }),
        );
    });

    const INSTALLS = [
        "curl -sfL https://get.k3s.io | sh -s - server",
        "curl -sSf https://get.k0s.sh | sh",
        "k0s install worker --token-file /etc/k0s/t",
        "/tmp/airgap/install.sh",
        "ip -6 addr add fd00::1/64 dev eth0",
        "ip -6 a replace fd00::1/64 dev eth0",
        "cat > /etc/sysctl.d/90-dualstack.conf",
        "echo br_netfilter > /etc/modules-load.d/dualstack.conf",
    ];

    it("install commands: a violation exactly when delete is blank or deleteBeforeReplace is not true", () => {
        fc.assert(
            fc.property(
                fc.constantFrom(...INSTALLS),
                fc.string(),
                fc.option(fc.oneof(fc.constantFrom("", " \n\t"), fc.string())),
                fc.option(fc.boolean()),
                (install, noise, del, dbr) => {
                    const props: Record<string, unknown> = { create: `sh -c 'set -eu\n${noise}\n${install}\n'` };
                    if (del !== null) props.delete = del;
                    const opts = dbr === null ? {} : { deleteBeforeReplace: dbr };
                    const got = installCommandsReversible({ type: "command:remote:Command", name: "c", props, opts });
                    const expected = (del === null || del.trim() === "" ? 1 : 0) + (dbr === true ? 0 : 1);
                    assert.equal(got.length, expected, got.join("\n"));
                },
            ),
        );
    });

    it("install commands: read-only probes and local commands are not installs", () => {
        for (const create of ["ip -6 addr show dev eth0", "ip -6 address list", "sysctl -n net.ipv6.conf.all.forwarding", "k0s status"]) {
            assert.deepEqual(installCommandsReversible({ type: "command:remote:Command", name: "probe", props: { create }, opts: {} }), []);
        }
        assert.deepEqual(installCommandsReversible({ type: "command:local:Command", name: "l", props: { create: INSTALLS[0] }, opts: {} }), []);
    });

    it("credential commands: one violation per missing safeguard, for every marker and logging mode", () => {
        fc.assert(
            fc.property(
                fc.constantFrom(...CREDENTIAL_MARKERS),
                fc.constantFrom("create", "update"),
                fc.constantFrom(undefined, "stdout", "stderr", "stdoutAndStderr", "none"),
                fc.boolean(),
                fc.string(),
                (marker, field, logging, secretStdout, noise) => {
                    const props: Record<string, unknown> = { [field]: `${noise} ${marker} ${noise}` };
                    if (logging !== undefined) props.logging = logging;
                    const opts = { additionalSecretOutputs: secretStdout ? ["stderr", "stdout"] : ["stderr"] };
                    const got = credentialCommandsSilent({ type: "command:remote:Command", name: "c", props, opts });
                    assert.equal(got.length, (logging === "none" ? 0 : 1) + (secretStdout ? 0 : 1), got.join("\n"));
                },
            ),
        );
    });
});

describe("policy rules: values unknown during preview", () => {
    const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"; // @pulumi/policy proxy.js unknownStringValue

    it("a rule that needs an unknown value throws UnknownValueError (the server reports it as advisory), never a violation", () => {
        const r = byName("lab-k3s.good.json", "traefik-release");
        const props = unknownCheckingProxy({ ...r.props, values: { service: { spec: { ipFamilyPolicy: "RequireDualStack", ipFamilies: UNKNOWN } } } });
        assert.throws(() => traefikServiceDualStack({ ...r, props }), UnknownValueError);
    });

    it("rules read only what they need: unknown connection and stdin do not stop the command checks", () => {
        for (const name of ["cluster-cp1-kubeconfig", "cluster-cp1-install"]) {
            const r = byName("lab-k3s.good.json", name);
            const props = unknownCheckingProxy({ ...r.props, connection: UNKNOWN, stdin: UNKNOWN });
            assert.deepEqual(credentialCommandsSilent({ ...r, props }), []);
            assert.deepEqual(installCommandsReversible({ ...r, props }), []);
        }
        const bad = load("bad.json").find((x) => x.name === "k3s-install-irreversible")!;
        assert.equal(installCommandsReversible({ ...bad, props: unknownCheckingProxy({ ...bad.props, connection: UNKNOWN }) }).length, 2);
    });
});
