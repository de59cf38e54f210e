import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { createOnlySettings } from "../../../components/k3s/config";
import { artifacts } from "../../../components/k3s/render";
import { K3S_PATHS } from "../../../components/k3s/scripts";
import { loadPlan, Plan } from "../../../components/plan";
import { remoteCommand } from "../../../components/shell";
import { baseConfig, ConfigInput, rawConfig } from "../../support/configs";
import { Registered, RunResult, runProgram, stackConfig, stringLeaves, transitiveDeps, unwrapSecrets } from "../../support/program";
import { tempDir } from "../../support/tmp";

// The K3sCluster under Pulumi's mock runtime (test/support/program.ts): the resource graph that
// decides install, upgrade and destroy order, and where secrets go.

const CMD = "command:remote:Command";
const COPY = "command:remote:CopyToRemote";
/** What the mock runtime gives every random resource as `result` (test/support/program.ts). */
const MOCK_TOKEN = "mock-cluster-token-0123456789abcdef0123456789abcdef";
const K3S_YAML = [
    "apiVersion: v1",
    "clusters:",
    "- cluster:",
    "    certificate-authority-data: QUJDRA==",
    "    server: https://127.0.0.1:6443",
    "  name: default",
    "contexts:",
    "- context: {cluster: default, user: default}",
    "  name: default",
    "current-context: default",
    "kind: Config",
    "users:",
    "- name: default",
    "  user: {client-certificate-data: REVG, client-key-data: R0hJ}",
    "",
].join("\n");

const cp = (i: number, o: ConfigInput = {}) => ({ name: `cp${i}`, host: `192.168.121.${10 + i}`, role: "control-plane", interface: "eth0", ...o });
const wk = (i: number, o: ConfigInput = {}) => ({ name: `worker${i}`, host: `192.168.121.${100 + i}`, role: "worker", interface: "eth0", ...o });
function clusterConfig(servers: number, agents: number, o: ConfigInput = {}): ConfigInput {
    const nodes = [...Array.from({ length: servers }, (_, i) => cp(i + 1)), ...Array.from({ length: agents }, (_, i) => wk(i + 1))];
    return baseConfig({ nodes, ...o });
}

function run(cfg: ConfigInput, preview = false): Promise<RunResult> {
    return runProgram({ config: rawConfig(cfg), stackName: "graph", preview, stdout: (name) => (name === "cluster-kubeconfig" ? K3S_YAML : undefined) });
}


/** The K3sCluster's own custom resources, inputs unwrapped. */
function k3s(r: RunResult): Registered[] {
    const comp = r.byType("dualstack:index:K3sCluster")[0];
    assert.ok(comp, "no K3sCluster registered");
    return r.resources.filter((x) => x.parent === comp.urn && x.custom).map((x) => ({ ...x, inputs: unwrapSecrets(x.inputs) }));
}

/** One K3sCluster resource by name, inputs unwrapped. */
function get(r: RunResult, name: string): Registered {
    const x = r.byName(name);
    return { ...x, inputs: unwrapSecrets(x.inputs) };
}

function urnOf(r: RunResult, name: string): string {
    return r.byName(name).urn;
}

/** Longest chain of K3sCluster resources (in resources): how many steps must run one after another. */
function criticalPath(r: RunResult, keep: (x: Registered) => boolean = () => true): number {
    const mine = new Map(k3s(r).filter(keep).map((x) => [x.urn, x]));
    const memo = new Map<string, number>();
    const depth = (x: Registered): number => {
        if (memo.has(x.urn)) return memo.get(x.urn)!;
        const d = 1 + Math.max(0, ...x.dependencies.filter((u) => mine.has(u)).map((u) => depth(mine.get(u)!)));
        memo.set(x.urn, d);
        return d;
    };
    return Math.max(...[...mine.values()].map(depth));
}

describe("k3s: resource graph under the mock runtime (lab-k3s)", () => {
    let r: RunResult;
    let plan: Plan;
    before(async () => {
        const raw = stackConfig("lab-k3s");
        plan = loadPlan((k) => raw[k], "lab-k3s", Object.keys(raw)).plan;
        r = await runProgram({ stack: "lab-k3s", preview: false, stdout: (name) => (name === "cluster-kubeconfig" ? K3S_YAML : undefined) });
    });

    it("registers token, install and (for joining nodes) member steps per node, plus the kubeconfig read and provider", () => {
        const names = k3s(r).map((x) => x.name).sort();
        assert.deepEqual(names, [
            "cluster-cp1-install",
            "cluster-cp1-token",
            "cluster-k8s",
            "cluster-kubeconfig",
            "cluster-token",
            "cluster-worker1-drain",
            "cluster-worker1-install",
            "cluster-worker1-member",
            "cluster-worker1-token",
            "cluster-worker1-uncordon",
            "cluster-worker1-upgrade",
            "cluster-worker2-drain",
            "cluster-worker2-install",
            "cluster-worker2-member",
            "cluster-worker2-token",
            "cluster-worker2-uncordon",
            "cluster-worker2-upgrade",
        ]);
    });

    it("each install waits for its own host's preparation and token only; agents wait for the server, not for each other", () => {
        const prepOf = (node: string) => {
            const comp = r.resources.find((x) => x.type === "dualstack:index:HostPrep" && x.name === `host-${node}`)!;
            return r.resources.filter((x) => x.custom && x.parent === comp.urn).map((x) => x.urn);
        };
        for (const n of plan.nodes) {
            const install = r.byName(`cluster-${n.name}-install`);
            for (const p of prepOf(n.name)) assert.ok(install.dependencies.includes(p), `${n.name} install does not wait for ${p}`);
            for (const other of plan.nodes.filter((o) => o !== n)) {
                for (const p of prepOf(other.name)) {
                    assert.ok(!install.dependencies.includes(p), `${n.name} install waits directly for ${other.name}'s preparation`);
                }
            }
            assert.ok(install.dependencies.includes(urnOf(r, `cluster-${n.name}-token`)));
        }
        const first = urnOf(r, "cluster-cp1-install");
        for (const w of ["worker1", "worker2"]) assert.ok(r.byName(`cluster-${w}-install`).dependencies.includes(first));
        const w1 = transitiveDeps(r, r.byName("cluster-worker1-member"));
        const w2 = transitiveDeps(r, r.byName("cluster-worker2-member"));
        assert.ok(![...w1].some((u) => u.includes("worker2")) && ![...w2].some((u) => u.includes("worker1")));
    });

    it("memberships run on the first server, after their node's install, and follow its replacement", () => {
        for (const w of ["worker1", "worker2"]) {
            const m = get(r, `cluster-${w}-member`);
            assert.equal(m.inputs.connection.host, plan.firstControlPlane.host);
            assert.ok(m.dependencies.includes(urnOf(r, `cluster-${w}-install`)));
            // A property dependency on the install's id: replacing the install replaces (drains) it first.
            assert.deepEqual(m.inputs.triggers, [`cluster-${w}-install-id`]);
            assert.match(m.inputs.delete, /drain/);
        }
    });

    it("every step whose delete undoes its create is delete-before-replace, and no command forwards previous output", () => {
        for (const x of k3s(r).filter((x) => x.type === CMD)) {
            assert.equal(x.inputs.addPreviousOutputInEnv, false, x.name);
            if (x.inputs.delete !== undefined) assert.equal(x.deleteBeforeReplace, true, x.name);
        }
    });

    it("the token is a 48-character random secret that reaches hosts only through stdin", () => {
        const pw = r.byName("cluster-token");
        assert.equal(pw.type, "random:index/randomPassword:RandomPassword");
        assert.equal(pw.inputs.length, 48);
        assert.equal(pw.inputs.special, false);
        const tokenSteps = k3s(r).filter((x) => /-token$/.test(x.name) && x.type === CMD);
        const tokenNames = new Set(tokenSteps.map((t) => t.name));
        assert.equal(tokenSteps.length, plan.nodes.length);
        for (const t of tokenSteps) {
            assert.equal(t.inputs.stdin, MOCK_TOKEN);
            assert.ok(t.secretInputs.includes("stdin"), `${t.name}: stdin is not a secret`);
            assert.ok(t.additionalSecretOutputs.includes("stdin"), `${t.name}: stdin output is not marked secret`);
            assert.match(t.inputs.create, /umask 077/);
        }
        // Anywhere else (every input of every resource, including commands and environment) the token must not appear.
        for (const x of r.resources) {
            for (const [k, v] of Object.entries(unwrapSecrets(x.inputs))) {
                if (tokenNames.has(x.name) && k === "stdin") continue;
                for (const s of stringLeaves(v)) assert.ok(!s.includes(MOCK_TOKEN), `${x.name}.${k} carries the token`);
            }
        }
    });

    it("reads the kubeconfig with logging off and stdout secret, rewrites the server, exports it as a secret", () => {
        const read = get(r, "cluster-kubeconfig");
        assert.equal(read.inputs.logging, "none");
        assert.ok(read.additionalSecretOutputs.includes("stdout"));
        assert.equal(read.inputs.connection.host, plan.firstControlPlane.host);
        assert.ok(read.dependencies.includes(urnOf(r, "cluster-cp1-install")));
        assert.equal(parse(String(r.outputs.kubeconfig)).clusters[0].cluster.server, plan.api.url);
        const provider = get(r, "cluster-k8s");
        assert.equal(provider.inputs.clusterIdentifier, "dualstack-lab-k3s");
        assert.ok(provider.secretInputs.includes("kubeconfig"));
        assert.equal(parse(provider.inputs.kubeconfig).clusters[0].cluster.server, plan.api.url);
    });

    it("registers exactly the rendered scripts and config files", () => {
        const byPath = new Map(artifacts(plan).map((a) => [a.path, a.content]));
        const cmd = (p: string) => remoteCommand(byPath.get(p)!, plan.ssh.sudo);
        for (const n of plan.nodes) {
            const install = get(r, `cluster-${n.name}-install`);
            assert.equal(install.inputs.stdin, byPath.get(`nodes/${n.name}${K3S_PATHS.config}`));
            assert.equal(install.inputs.create, cmd(`nodes/${n.name}/scripts/k3s-install-create.sh`));
            if (n.role === "control-plane") assert.equal(install.inputs.update, install.inputs.create, "a server's upgrade re-runs the same installer");
            else {
                // An agent's update only applies config.yaml; its version is its upgrade step's.
                assert.equal(install.inputs.update, cmd(`nodes/${n.name}/scripts/k3s-install-update.sh`));
                assert.ok(!install.inputs.update.includes("INSTALL_K3S_VERSION"), `${n.name}: the install's update carries no version`);
                // The upgrade steps act only on an update (a version change): no create, no create.sh.
                const upgrade = get(r, `cluster-${n.name}-upgrade`);
                assert.equal(upgrade.inputs.create, undefined);
                assert.equal(upgrade.inputs.update, cmd(`nodes/${n.name}/scripts/k3s-upgrade-update.sh`));
                assert.ok(upgrade.inputs.update.includes("INSTALL_K3S_VERSION"), `${n.name}: the upgrade step runs the installer`);
                assert.ok(!byPath.has(`nodes/${n.name}/scripts/k3s-upgrade-create.sh`));
                for (const x of ["drain", "uncordon"]) {
                    const step = get(r, `cluster-${n.name}-${x}`);
                    assert.equal(step.inputs.create, undefined);
                    assert.equal(step.inputs.update, cmd(`nodes/cp1/scripts/k3s-${x}-${n.name}-update.sh`));
                }
            }
            assert.equal(install.inputs.delete, cmd(`nodes/${n.name}/scripts/k3s-install-delete.sh`));
            assert.deepEqual(install.inputs.triggers.slice(0, 5), createOnlySettings(plan, n));
        }
        assert.equal(get(r, "cluster-kubeconfig").inputs.create, cmd(`nodes/cp1/scripts/k3s-kubeconfig-create.sh`));
    });

    it("previews (kubeconfig unknown) without failing", async () => {
        const p = await runProgram({ stack: "lab-k3s", preview: true });
        assert.equal(k3s(p).length, k3s(r).length);
    });
});

describe("k3s: HA order and scaling (3 servers)", () => {
    const results = new Map<number, RunResult>();
    before(async () => {
        // Default batches: 10% of the agents, at least 1, so here one agent per batch.
        for (const agents of [2, 8]) results.set(agents, await run(clusterConfig(3, agents)));
    });

    it("servers join one at a time: each waits for the previous one to be up and registered", () => {
        const r = results.get(8)!;
        assert.ok(r.byName("cluster-cp2-install").dependencies.includes(urnOf(r, "cluster-cp1-install")));
        assert.ok(r.byName("cluster-cp2-member").dependencies.includes(urnOf(r, "cluster-cp2-install")));
        assert.ok(r.byName("cluster-cp3-install").dependencies.includes(urnOf(r, "cluster-cp2-member")));
        assert.ok(!transitiveDeps(r, r.byName("cluster-cp2-install")).has(urnOf(r, "cluster-cp3-install")));
    });

    it("agents wait for the first server and the complete control plane, never for another agent", () => {
        const r = results.get(8)!;
        const agentUrns = k3s(r).filter((x) => /worker/.test(x.name)).map((x) => x.urn);
        for (let i = 1; i <= 8; i++) {
            const install = r.byName(`cluster-worker${i}-install`);
            assert.ok(install.dependencies.includes(urnOf(r, "cluster-cp1-install")));
            assert.ok(install.dependencies.includes(urnOf(r, "cluster-cp3-member")));
            const deps = transitiveDeps(r, r.byName(`cluster-worker${i}-member`));
            assert.deepEqual(
                agentUrns.filter((u) => deps.has(u)).sort(),
                [urnOf(r, `cluster-worker${i}-install`), urnOf(r, `cluster-worker${i}-token`)].sort(),
            );
        }
    });

    it("the join's critical path does not grow with the number of agents; a first up adds one no-op drain, upgrade and uncordon per batch", () => {
        const joined = (r: RunResult) => criticalPath(r, (x) => !/-(drain|upgrade|uncordon)$/.test(x.name));
        const [two, eight] = [joined(results.get(2)!), joined(results.get(8)!)];
        assert.equal(two, eight);
        // random token, token file, cp1, cp2, cp2-member, cp3, cp3-member, agent install, agent member.
        assert.equal(eight, 9);
        // Everything: the join, then the batches' chain (no-ops at the target version): 3 steps a batch.
        assert.equal(criticalPath(results.get(2)!), 9 + 3 * 2);
        assert.equal(criticalPath(results.get(8)!), 9 + 3 * 8);
    });

    it("destroy order from the graph: agents first, then the extra servers newest first, then the first server", () => {
        const r = results.get(8)!;
        // Pulumi deletes a resource only after everything that depends on it.
        const deletedAfter = (a: string, b: string) => transitiveDeps(r, r.byName(b)).has(urnOf(r, a)); // a is deleted after b
        for (let i = 1; i <= 8; i++) {
            for (const s of ["cp3-member", "cp3-install", "cp2-member", "cp2-install", "cp1-install"]) {
                assert.ok(deletedAfter(`cluster-${s}`, `cluster-worker${i}-install`), `worker${i} is not uninstalled before ${s}`);
            }
            assert.ok(deletedAfter(`cluster-worker${i}-install`, `cluster-worker${i}-member`), "drain before uninstall");
        }
        assert.ok(deletedAfter("cluster-cp2-install", "cluster-cp3-install"));
        assert.ok(deletedAfter("cluster-cp1-install", "cluster-cp2-install"));
    });

    it("every other node follows the first server's identity (a new first server is a new cluster)", () => {
        const r = results.get(2)!;
        assert.ok(!stringLeaves(get(r, "cluster-cp1-install").inputs.triggers).includes("cluster-cp1-install-id"));
        for (const n of ["cp2", "cp3", "worker1", "worker2"]) {
            const t = get(r, `cluster-${n}-install`);
            assert.equal(t.inputs.triggers.at(-1), "cluster-cp1-install-id", n);
            assert.ok(t.replaceOnChanges.includes("triggers[*]"), `${n}: triggers do not force a replacement`);
        }
    });
});

describe("k3s: what a config change does to the registered inputs", () => {
    const inputsOf = (r: RunResult) => new Map(k3s(r).filter((x) => x.type === CMD).map((x) => [x.name, x.inputs]));
    let base: Map<string, Record<string, any>>;
    before(async () => {
        base = inputsOf(await run(clusterConfig(1, 2)));
    });

    it("a version change updates the server's install and the agents' upgrade steps in place (same triggers); agents' installs and members stay", async () => {
        const up = inputsOf(await run(clusterConfig(1, 2, { version: "v1.34.1+k3s1" })));
        for (const n of ["cp1", "worker1", "worker2"]) {
            const [a, b] = [base.get(`cluster-${n}-install`)!, up.get(`cluster-${n}-install`)!];
            assert.deepEqual(b.triggers, a.triggers, `${n}: a version change must not replace (uninstall) the node`);
            assert.equal(b.delete, a.delete);
        }
        assert.notEqual(up.get("cluster-cp1-install")!.update, base.get("cluster-cp1-install")!.update);
        for (const w of ["worker1", "worker2"]) {
            // The agent's create records the new version; its update has no version.
            assert.equal(up.get(`cluster-${w}-install`)!.update, base.get(`cluster-${w}-install`)!.update, w);
            assert.equal(up.get(`cluster-${w}-member`)!.create, base.get(`cluster-${w}-member`)!.create, w);
            for (const x of ["drain", "upgrade", "uncordon"]) {
                const [a, b] = [base.get(`cluster-${w}-${x}`)!, up.get(`cluster-${w}-${x}`)!];
                assert.notEqual(b.update, a.update, `${w}-${x} carries the version`);
                assert.deepEqual(b.triggers, a.triggers, `${w}-${x} is updated, not replaced`);
            }
        }
    });

    it("a create-only change (pod CIDRs) changes every install's triggers, so preview shows replacements", async () => {
        const changed = inputsOf(await run(clusterConfig(1, 2, { network: { ...(baseConfig().network as object), podCidrs: ["10.44.0.0/16", "fd45:a71:55a6:4200::/56"] } })));
        for (const n of ["cp1", "worker1", "worker2"]) {
            assert.notDeepEqual(changed.get(`cluster-${n}-install`)!.triggers, base.get(`cluster-${n}-install`)!.triggers, n);
        }
    });

    it("a label changes only that node's config (stdin), in place", async () => {
        const labelled = inputsOf(await run(clusterConfig(1, 2, { nodes: [cp(1), wk(1, { labels: { zone: "b" } }), wk(2)] })));
        for (const [name, inputs] of labelled) {
            const before = base.get(name)!;
            if (name === "cluster-worker1-install") {
                assert.notEqual(inputs.stdin, before.stdin);
                assert.deepEqual(inputs.triggers, before.triggers);
            } else {
                assert.deepEqual(inputs, before, name);
            }
        }
    });

    it("removing an agent removes its steps only; nothing else changes", async () => {
        const fewer = inputsOf(await run(clusterConfig(1, 1)));
        assert.deepEqual([...fewer.keys()].sort(), [...base.keys()].filter((k) => !k.includes("worker2")).sort());
        for (const [name, inputs] of fewer) assert.deepEqual(inputs, base.get(name), name);
    });
});

describe("k3s: air-gapped install and sudo", () => {
    it("copies install.sh, the binary and image tarballs into the staging directory before the install", async () => {
        const dir = tempDir("dualstack-airgap");
        for (const f of ["install.sh", "k3s", "k3s-airgap-images-amd64.tar.zst", "README.txt"]) fs.writeFileSync(path.join(dir, f), f);
        const r = await run(clusterConfig(1, 1, { install: { source: "airgap", airgapDir: dir } }));
        for (const n of ["cp1", "worker1"]) {
            const stage = r.byName(`cluster-${n}-airgap-stage`);
            const copies = r.byType(COPY).filter((c) => c.name.startsWith(`cluster-${n}-copy-`));
            assert.deepEqual(copies.map((c) => path.basename(c.inputs.remotePath)).sort(), ["install.sh", "k3s", "k3s-airgap-images-amd64.tar.zst"]);
            const install = r.byName(`cluster-${n}-install`);
            for (const c of copies) {
                assert.equal(path.dirname(c.inputs.remotePath), K3S_PATHS.airgapStage);
                assert.ok(c.dependencies.includes(stage.urn));
                assert.ok(install.dependencies.includes(c.urn), `${n} install does not wait for ${c.name}`);
            }
            assert.match(install.inputs.create, /INSTALL_K3S_SKIP_DOWNLOAD=true/);
            assert.doesNotMatch(install.inputs.create, /get\.k3s\.io/);
            assert.equal(stage.deleteBeforeReplace, true);
        }
    });

    it("a non-root SSH user runs every step through sudo -n", async () => {
        const r = await run(clusterConfig(1, 1, { ssh: { user: "ubuntu", privateKeyPath: "/nonexistent/id_ed25519" } }));
        for (const x of k3s(r).filter((x) => x.type === CMD)) {
            for (const k of ["create", "update", "delete"]) {
                if (x.inputs[k] !== undefined) assert.match(x.inputs[k], /^if ! sudo -n true .*\nsudo -n sh -c /s, `${x.name}.${k}`);
            }
        }
    });
});

describe("k3s: preview", () => {
    it("a brand-new HA cluster previews without outputs and without failing", async () => {
        const r = await run(clusterConfig(3, 2, { network: { nodeIpv6Prefix: "fd45:a71:55a6:1::/64", podCidrs: ["fd45:a71:55a6:4200::/56", "10.42.0.0/16"], serviceCidrs: ["fd45:a71:55a6:43::/112", "10.43.0.0/16"] } }), true);
        assert.equal(k3s(r).filter((x) => x.name.endsWith("-install")).length, 5);
        // The provider is registered with an unknown kubeconfig (no value yet), which must not throw.
        assert.equal(get(r, "cluster-k8s").inputs.kubeconfig?.__pulumiUnknown, true);
        assert.equal(get(r, "cluster-k8s").inputs.clusterIdentifier, "dualstack-graph");
    });
});
