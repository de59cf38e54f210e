// The K0sCluster's resource graph under Pulumi's mock runtime: ordering, secrets, logging,
// replacement behaviour, and that what render.ts writes is exactly what is registered.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { artifacts } from "../../../components/k0s/render";
import { drainScript } from "../../../components/k0s/scripts";
import { loadPlan, Plan } from "../../../components/plan";
import { remoteCommand } from "../../../components/shell";
import { baseConfig, ConfigInput, rawConfig } from "../../support/configs";
import { Registered, runProgram, RunResult, stackConfig, stringLeaves, transitiveDeps, unwrapSecrets } from "../../support/program";
import { tempDir } from "../../support/tmp";

const K0S_TYPE = "dualstack:index:K0sCluster";
const CMD = "command:remote:Command";
const FAKE_KUBECONFIG = [
    "apiVersion: v1",
    "clusters:",
    "- cluster:",
    "    certificate-authority-data: RkFLRS1DQQ==",
    "    server: https://localhost:6443",
    "  name: local",
    "contexts:",
    "- context: {cluster: local, user: admin}",
    "  name: Default",
    "current-context: Default",
    "kind: Config",
    "users:",
    "- name: admin",
    "  user: {client-certificate-data: RkFLRS1DRVJU, client-key-data: RkFLRS1LRVk=}",
].join("\n");

/** A recognisable fake token per token command, so its every appearance can be found. */
const fakeToken = (name: string) => `FAKE-JOIN-TOKEN-${name}-c2VjcmV0LXNlY3JldC1zZWNyZXQ`;
const stdout = (name: string) => (name.endsWith("-token") ? fakeToken(name) : name === "cluster-kubeconfig" ? FAKE_KUBECONFIG : undefined);

function planOfRaw(raw: Record<string, string>, stack: string): Plan {
    return loadPlan((k) => raw[k], stack, Object.keys(raw)).plan;
}

/** 3 controllers and 8 workers. */
function bigConfig(overrides: ConfigInput = {}): Record<string, string> {
    const nodes = [
        ...[1, 2, 3].map((i) => ({ name: `ctl${i}`, host: `192.168.122.${10 + i}`, role: "control-plane", interface: "eth0" })),
        ...[1, 2, 3, 4, 5, 6, 7, 8].map((i) => ({ name: `worker${i}`, host: `192.168.122.${100 + i}`, role: "worker", interface: "eth0" })),
    ];
    // Default batches (10%, at least 1: one worker each): the join stays parallel whatever they are.
    return rawConfig(baseConfig({ distribution: "k0s", version: "v1.36.3+k0s.2", traefik: { loadBalancer: "none" }, nodes, ...overrides }));
}

function k0sChildren(r: RunResult): Registered[] {
    const comp = r.byType(K0S_TYPE)[0];
    return r.resources.filter((x) => x.parent === comp.urn);
}

interface Scenario {
    label: string;
    stack: string;
    raw: Record<string, string>;
}

const scenarios: Scenario[] = [
    { label: "lab-k0s", stack: "lab-k0s", raw: stackConfig("lab-k0s") },
    { label: "3 controllers + 8 workers", stack: "big", raw: bigConfig() },
];

for (const sc of scenarios) {
    describe(`k0s graph under the mock runtime: ${sc.label}`, () => {
        let r: RunResult;
        let plan: Plan;
        before(async () => {
            plan = planOfRaw(sc.raw, sc.stack);
            r = await runProgram({ config: sc.raw, stackName: sc.stack, preview: false, stdout });
        });
        const install = (n: string) => r.byName(`cluster-${n}-install`);
        const inputs = (x: Registered) => unwrapSecrets(x.inputs);
        const deps = (x: Registered) => transitiveDeps(r, x);

        it("registers one K0sCluster whose children are all named cluster-* and parented to it", () => {
            assert.equal(r.byType(K0S_TYPE).length, 1);
            const kids = k0sChildren(r);
            assert.ok(kids.length >= plan.nodes.length * 2);
            for (const k of kids) assert.ok(k.name.startsWith("cluster-"), k.name);
        });

        it("controllers one at a time, in plan order", () => {
            const cps = plan.controlPlanes;
            for (let i = 1; i < cps.length; i++) {
                assert.ok(deps(install(cps[i].name)).has(install(cps[i - 1].name).urn), `${cps[i].name} does not wait for ${cps[i - 1].name}`);
                assert.ok(!deps(install(cps[i - 1].name)).has(install(cps[i].name).urn));
            }
        });

        it("workers in parallel: each waits for the controllers and its own token, never for another worker", () => {
            const lastController = install(plan.controlPlanes[plan.controlPlanes.length - 1].name);
            const firstController = install(plan.firstControlPlane.name);
            const workerUrns = new Set(plan.workers.flatMap((w) => [install(w.name).urn, r.byName(`cluster-${w.name}-token`).urn]));
            for (const w of plan.workers) {
                const d = deps(install(w.name));
                assert.ok(d.has(firstController.urn) && d.has(lastController.urn), `${w.name} does not wait for the controllers`);
                assert.ok(d.has(r.byName(`cluster-${w.name}-token`).urn), `${w.name} does not wait for its token`);
                const own = new Set([install(w.name).urn, r.byName(`cluster-${w.name}-token`).urn]);
                for (const u of workerUrns) if (!own.has(u)) assert.ok(!d.has(u), `${w.name} waits for ${u}`);
            }
        });

        it("each node waits for its own host preparation; a worker never for another worker's", () => {
            const prepKids = (node: string) => {
                const prep = r.resources.find((x) => x.type === "dualstack:index:HostPrep" && x.name === `host-${node}`)!;
                assert.ok(prep, `no HostPrep for ${node}`);
                return r.resources.filter((x) => x.custom && transitiveParent(r, x, prep.urn)).map((x) => x.urn);
            };
            for (const n of plan.nodes) {
                const d = deps(install(n.name));
                for (const u of prepKids(n.name)) assert.ok(d.has(u), `${n.name} does not wait for ${u}`);
            }
            for (const w of plan.workers) {
                const d = deps(install(w.name));
                for (const other of plan.workers.filter((o) => o.name !== w.name)) {
                    for (const u of prepKids(other.name)) assert.ok(!d.has(u), `${w.name} waits for ${other.name}'s ${u}`);
                }
            }
        });

        it("join tokens: created on the first controller, role-specific, never logged, secret, not echoed back through env", () => {
            const joining = plan.nodes.filter((n) => n.name !== plan.firstControlPlane.name);
            for (const n of joining) {
                const t = r.byName(`cluster-${n.name}-token`);
                assert.equal(inputs(t).connection.host, plan.firstControlPlane.host);
                assert.match(t.inputs.create, new RegExp(`token create --role ${n.role === "worker" ? "worker" : "controller"} --expiry 1h`));
                assert.equal(t.inputs.logging, "none");
                assert.ok(t.additionalSecretOutputs.includes("stdout"));
                assert.equal(t.inputs.addPreviousOutputInEnv, false);
            }
            assert.equal(r.resources.filter((x) => x.name.endsWith("-token")).length, joining.length);
        });

        it("a token travels only through its node's install stdin (secret), never in a command, env or trigger", () => {
            for (const n of plan.nodes.filter((x) => x.name !== plan.firstControlPlane.name)) {
                const token = fakeToken(`cluster-${n.name}-token`);
                const inst = install(n.name);
                assert.equal(inputs(inst).stdin, token);
                assert.ok(inst.secretInputs.includes("stdin"), `${n.name}: stdin is not a secret`);
                // Nothing ignored: Pulumi would create a replacement from ignored inputs' old values
                // (an expired token, the version it first joined with). The token step changes
                // only with its node, and it never re-runs on its own (its create is ignored).
                assert.deepEqual(inst.ignoreChanges ?? [], []);
                assert.deepEqual(r.byName(`cluster-${n.name}-token`).ignoreChanges, ["create"]);
                for (const x of r.resources) {
                    const { stdin, ...rest } = inputs(x);
                    assert.ok(!stringLeaves(rest).some((s) => s.includes(token)), `${x.name} carries ${n.name}'s token outside stdin`);
                    if (x !== inst) assert.ok(!stringLeaves(stdin).some((s) => s.includes(token)), `${x.name} gets ${n.name}'s token`);
                }
            }
            assert.equal(install(plan.firstControlPlane.name).inputs.stdin, undefined);
        });

        it("kubeconfig: read with logging off as a secret, server rewritten to the plan's API URL, provider with a fixed identifier", () => {
            const kc = r.byName("cluster-kubeconfig");
            assert.equal(kc.inputs.logging, "none");
            assert.ok(kc.additionalSecretOutputs.includes("stdout"));
            assert.equal(kc.inputs.addPreviousOutputInEnv, false);
            assert.equal(inputs(kc).connection.host, plan.firstControlPlane.host);
            assert.ok(deps(kc).has(install(plan.firstControlPlane.name).urn));
            const out = parse(String(r.outputs.kubeconfig));
            assert.equal(out.clusters[0].cluster.server, plan.api.url);
            assert.equal(out.users[0].user["client-key-data"], "RkFLRS1LRVk=");
            const provider = r.resources.find((x) => x.type === "pulumi:providers:kubernetes" && x.name === "cluster-k8s")!;
            assert.equal(provider.inputs.clusterIdentifier, `dualstack-${sc.stack}`);
            assert.ok(provider.secretInputs.includes("kubeconfig"));
        });

        it("delete undoes create: deleteBeforeReplace on every step with a delete; reset on every install", () => {
            for (const x of k0sChildren(r).filter((c) => c.type === CMD)) {
                if (x.inputs.delete) assert.equal(x.deleteBeforeReplace, true, x.name);
            }
            for (const n of plan.nodes) {
                assert.match(install(n.name).inputs.delete, /k0s reset/);
                assert.match(install(n.name).inputs.update, /k0s stop/);
            }
        });

        it("destroy order: every kubelet node but the first is drained from the first controller before its reset", () => {
            for (const n of plan.nodes.filter((x) => x.name !== plan.firstControlPlane.name)) {
                const joined = r.byName(`cluster-${n.name}-joined`);
                assert.equal(inputs(joined).connection.host, plan.firstControlPlane.host);
                assert.equal(joined.inputs.delete, remoteCommand(drainScript(plan, n), plan.ssh.sudo));
                assert.match(drainScript(plan, n), new RegExp(`^node=${n.name}$`, "m"));
                // Deletes run dependents first: joined (drain) depends on the install (reset) and on
                // the first controller, so it is deleted before both.
                assert.ok(deps(joined).has(install(n.name).urn));
                assert.ok(deps(joined).has(install(plan.firstControlPlane.name).urn));
            }
            assert.equal(r.byName(`cluster-${plan.firstControlPlane.name}-joined`).inputs.delete, undefined);
        });

        it("every command string is a remoteCommand of a rendered script, and every k0s.yaml is a config step's stdin", () => {
            const arts = artifacts(plan);
            const cmds = k0sChildren(r).filter((c) => c.type === CMD);
            const registered = new Set(cmds.flatMap((c) => [c.inputs.create, c.inputs.update, c.inputs.delete].filter((s) => typeof s === "string")));
            const rendered = new Set(arts.filter((a) => a.path.endsWith(".sh")).map((a) => remoteCommand(a.content, plan.ssh.sudo)));
            assert.deepEqual([...registered].sort(), [...rendered].sort());
            for (const c of plan.controlPlanes) {
                const yaml = arts.find((a) => a.path === `nodes/${c.name}/etc/k0s/k0s.yaml`)!;
                assert.equal(r.byName(`cluster-${c.name}-config`).inputs.stdin, yaml.content);
            }
        });
    });
}

function transitiveParent(r: RunResult, x: Registered, ancestor: string): boolean {
    let p = x.parent;
    while (p) {
        if (p === ancestor) return true;
        p = r.resources.find((y) => y.urn === p)?.parent ?? "";
    }
    return false;
}

describe("k0s graph: changes (lab-k0s shape)", () => {
    const lab = stackConfig("lab-k0s");
    const labNet = JSON.parse(lab["dualstack:network"]);
    const variant = (o: Record<string, unknown>) => ({ ...lab, ...Object.fromEntries(Object.entries(o).map(([k, v]) => [`dualstack:${k}`, typeof v === "string" ? v : JSON.stringify(v)])) });
    const triggersOf = (r: RunResult) => Object.fromEntries(r.resources.filter((x) => x.type === CMD && x.name.startsWith("cluster-")).map((x) => [x.name, x.inputs.triggers]));
    let base: RunResult;
    before(async () => {
        base = await runProgram({ config: lab, stackName: "lab-k0s", preview: true });
    });

    it("a version change is an in-place update: same triggers, new controller install and worker upgrade scripts; worker installs stay", async () => {
        const upgraded = await runProgram({ config: variant({ version: "v1.36.4+k0s.0" }), stackName: "lab-k0s", preview: true });
        assert.deepEqual(triggersOf(upgraded), triggersOf(base));
        const update = (r: RunResult, name: string) => r.byName(`cluster-${name}`).inputs.update;
        assert.notEqual(update(upgraded, "ctl1-install"), update(base, "ctl1-install"));
        assert.match(update(upgraded, "ctl1-install"), /v1\.36\.4\+k0s\.0/);
        for (const w of ["worker1", "worker2"]) {
            assert.equal(update(upgraded, `${w}-install`), update(base, `${w}-install`), `${w}'s install (create ignored) is left alone`);
            for (const x of ["drain", "upgrade", "uncordon"]) assert.notEqual(update(upgraded, `${w}-${x}`), update(base, `${w}-${x}`), `${w}-${x}`);
            assert.match(update(upgraded, `${w}-upgrade`), /v1\.36\.4\+k0s\.0/);
        }
    });

    it("a service CIDR change replaces every node step, and the diff names the setting", async () => {
        const recidr = await runProgram({ config: variant({ network: { ...labNet, serviceCidrs: ["10.53.0.0/16", "fd7b:3e0c:91d4:253::/112"] } }), stackName: "lab-k0s", preview: true });
        const before = triggersOf(base);
        const after = triggersOf(recidr);
        assert.deepEqual(Object.keys(after).sort(), Object.keys(before).sort());
        for (const [name, t] of Object.entries(after)) {
            if (before[name] === undefined) continue;
            const upgradeOf = /^cluster-(.+)-(drain|upgrade|uncordon)$/.exec(name);
            if (upgradeOf) {
                // Replaced with the node's install (its triggers are the install's id, unknown in
                // preview until the install is replaced), whose triggers name the setting.
                const inst = `cluster-${upgradeOf[1]}-install`;
                const ts = t as unknown[];
                assert.ok(ts.length === 1 && (ts[0] as { __pulumiUnknown?: boolean }).__pulumiUnknown === true, `${name}: triggers are only ${inst}'s id (unknown until it is replaced)`);
                assert.ok(recidr.byName(name).dependencies.includes(recidr.byName(inst).urn), name);
                assert.ok((after[`cluster-${upgradeOf[1]}-install`] as string[]).includes("serviceCidrs=10.53.0.0/16,fd7b:3e0c:91d4:253::/112"), name);
                continue;
            }
            assert.notDeepEqual(t, before[name], `${name} would not be replaced`);
            assert.ok((t as string[]).includes("serviceCidrs=10.53.0.0/16,fd7b:3e0c:91d4:253::/112"), name);
        }
    });

    it("a first preview (nothing known yet) registers the whole graph deterministically", async () => {
        const again = await runProgram({ config: lab, stackName: "lab-k0s", preview: true });
        const dump = (x: RunResult) => JSON.stringify(k0sChildren(x).map((c) => [c.urn, c.inputs, c.dependencies]).sort());
        assert.equal(dump(again), dump(base));
        assert.equal(base.resources.filter((x) => x.name.endsWith("-install")).length, 3);
    });

    it("air-gapped: each node copies the binary from install.airgapDir to the staging path before its install", async () => {
        // The program refuses an air-gap folder without the binary before touching any host.
        const dir = tempDir("dualstack-k0s-airgap");
        fs.writeFileSync(path.join(dir, "k0s"), "test double: not a k0s binary\n");
        const raw = variant({ install: { source: "airgap", airgapDir: dir } });
        const r = await runProgram({ config: raw, stackName: "lab-k0s", preview: false, stdout });
        const plan = planOfRaw(raw, "lab-k0s");
        for (const n of plan.nodes) {
            const copy = r.byName(`cluster-${n.name}-binary`);
            assert.equal(copy.type, "command:remote:CopyToRemote");
            assert.equal(copy.inputs.remotePath, "/var/lib/dualstack/k0s-airgap/k0s");
            // sftp does not create parents: a stage step owned by the SSH user comes first.
            assert.ok(transitiveDeps(r, copy).has(r.byName(`cluster-${n.name}-airgap-stage`).urn));
            assert.equal(unwrapSecrets(copy.inputs).connection.host, n.host);
            assert.equal(await copy.inputs.source.path, path.join(dir, "k0s"));
            assert.deepEqual(copy.inputs.triggers, [plan.version, n.host]);
            assert.ok(transitiveDeps(r, r.byName(`cluster-${n.name}-install`)).has(copy.urn));
            assert.ok(!r.byName(`cluster-${n.name}-install`).inputs.create.includes("get.k0s.sh"));
        }
    });
});
