// Shape problems in the project's voice: every message names the key, the value, the rule and the
// fix, never zod's wording ("expected array, received undefined", ">=1 characters").
import * as assert from "node:assert/strict";
import { editDistance, nearMissNamespaces } from "../../components/config";
import { ConfigError, formatProblem } from "../../components/problems";
import { validateStack } from "../../components/stack";
import { baseConfig, ConfigInput, rawConfig } from "../support/configs";

function messages(cfg: ConfigInput, extra: Record<string, string> = {}): string[] {
    const raw = { ...rawConfig(cfg), ...extra };
    for (const [k, v] of Object.entries(raw)) if (v === undefined || v === "undefined") delete raw[k];
    try {
        validateStack((k) => raw[k], "t", Object.keys(raw), { skipLocalFiles: true });
    } catch (e) {
        assert.ok(e instanceof ConfigError, String(e));
        return e.problems.map(formatProblem);
    }
    return [];
}

const base = baseConfig();
const nodes = base.nodes as Record<string, unknown>[];
const SSH_KEYS = "user, port, privateKeyPath, privateKey, agentSocketPath, proxy, dialErrorLimit, perDialTimeout";

const CASES: [string, ConfigInput, string, Record<string, string>?][] = [
    [
        "missing nodes",
        { ...base, nodes: undefined },
        "dualstack:nodes = (unset): is required. Fix: list your hosts under dualstack:nodes, each with name, host, role and interface (see stacks/Pulumi.lab-k3s.yaml).",
    ],
    ["no nodes", { ...base, nodes: [] }, "dualstack:nodes = []: is an empty list. Fix: list your hosts under dualstack:nodes, each with name, host, role and interface (see stacks/Pulumi.lab-k3s.yaml)."],
    [
        "an empty host",
        { ...base, nodes: [{ ...nodes[0], host: "" }, ...nodes.slice(1)] },
        'dualstack:nodes[0].host = "": is empty. Fix: give the node\'s SSH address: an IPv4 address, an IPv6 literal without brackets or a DNS name.',
    ],
    [
        "a port with letters",
        { ...base, ssh: { privateKeyPath: "/k", port: "22a" } },
        'dualstack:ssh.port = "22a": must be a number, not text. Fix: write a plain whole number (no quotes, letters or units).',
    ],
    [
        "a quoted port",
        { ...base, ssh: { privateKeyPath: "/k", port: "2222" } },
        'dualstack:ssh.port = "2222": must be a number, not a quoted number (text). Fix: write a plain whole number (no quotes, letters or units).',
    ],
    ["port 0", { ...base, ssh: { privateKeyPath: "/k", port: 0 } }, "dualstack:ssh.port = 0: is below the minimum 1. Fix: use 1 or more."],
    [
        "a nested typo names only the misspelt key and its value",
        { ...base, ssh: { privateKeyPath: "/home/me/.ssh/id_ed25519", prot: 2222 } },
        `dualstack:ssh.prot = 2222: is not a key of dualstack:ssh. Fix: did you mean port? Its keys are ${SSH_KEYS}.`,
    ],
    [
        "a typo inside a node",
        { ...base, nodes: [{ ...nodes[0], interfase: "eth1" }, ...nodes.slice(1)] },
        'dualstack:nodes[0].interfase = "eth1": is not a key of dualstack:nodes[0]. Fix: did you mean interface? Its keys are name, host, role, interface, ipv4, ipv6, hostKey, labels, taints.',
    ],
    [
        "an unknown role",
        { ...base, nodes: [nodes[0], { ...nodes[1], role: "master" }, nodes[2]] },
        'dualstack:nodes[1].role = "master": is not a value this key accepts. Fix: use one of "control-plane", "worker".',
    ],
    [
        "a list where a map belongs",
        { ...base, calico: ["bird"] },
        'dualstack:calico = ["bird"]: must be a map, not a list. Fix: write a YAML map (`key: value` lines).',
    ],
    ["a timeout too long", { ...base, checks: { timeoutSeconds: 7200 } }, "dualstack:checks.timeoutSeconds = 7200: is above the maximum 3600. Fix: use 3600 or less."],
    [
        "a short token stays secret",
        { ...base, token: "tooshort" },
        'dualstack:token = "(secret)": is shorter than 32 characters. Fix: remove it to let @pulumi/random generate one, or set one of at least 32 characters with `pulumi config set --secret dualstack:token "$(openssl rand -hex 32)"`.',
    ],
    [
        "a misspelt namespace names the key meant",
        base,
        'dualstak:traefik = "(set)": namespace "dualstak" is not "dualstack", so this key is ignored and the defaults apply. Fix: rename it to dualstack:traefik.',
        { "dualstak:traefik": JSON.stringify({ dashboard: true }) },
    ],
    [
        "a misspelt namespace and key",
        base,
        'DualStack:calcio.mode = "(set)": namespace "DualStack" is not "dualstack", so this key is ignored and the defaults apply. Fix: rename it to dualstack:calico.mode.',
        { "DualStack:calcio.mode": "vxlan" },
    ],
];

describe("config problems speak the project's voice (key, value, rule, fix)", () => {
    for (const [what, cfg, expected, extra] of CASES) {
        it(what, () => {
            const got = messages(cfg, extra);
            assert.ok(got.includes(expected), `expected\n  ${expected}\namong\n  ${got.join("\n  ")}`);
            for (const m of got) {
                assert.doesNotMatch(m, /expected \w+, received|>=|<=|Invalid input|Too (small|big)|Unrecognized key/, m);
                assert.match(m, /^\S+ = .+: .+\. Fix: .+\.$/s, m);
            }
        });
    }

    it("leaves other namespaces alone: only near misses of dualstack are refused", () => {
        const keys = ["kubernetes:context", "command:x", "dualstack:nodes", "aws:region", "dualstackx:nodes", "dualstak:nodes", "dualstack-prod:nodes"];
        assert.deepEqual(nearMissNamespaces(keys).map((p) => p.key), ["dualstackx:nodes", "dualstak:nodes"]);
        assert.equal(editDistance("dualstak", "dualstack"), 1);
        assert.equal(editDistance("duaslatck", "dualstack"), 2);
    });
});
