// K0sCluster on real SSH test hosts (harness.ts), air-gapped, with a recording TEST DOUBLE of
// the k0s binary (doubles/k0s/k0s) as the "binary" in install.airgapDir. The program runs under
// the mock runtime and the lab executes exactly the strings K0sCluster registers, over SSH, in
// dependency order; destroy runs the registered deletes in reverse dependency order.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { renderK0sYaml } from "../../components/k0s/k0sconfig";
import { K0S_TOKEN_FILE } from "../../components/k0s/scripts";
import { loadPlan, Plan } from "../../components/plan";
import { rawConfig } from "../support/configs";
import { RunResult, runProgram, stringLeaves, unwrapSecrets } from "../support/program";
import { destroyRegistered, ExecuteArgs, labExecutor, replaceRegistered, runRemote, TimelineEntry } from "./executor";
import { createLab, Lab, LabHost, leftoverNamespaces, requireLabPrerequisites } from "./harness";

const DOUBLE_DIR = path.join(__dirname, "doubles", "k0s");
const DOUBLE = path.join(DOUBLE_DIR, "k0s");
// The double answers `k0s version` with this; the stack must pin the same version.
const DOUBLE_VERSION = /^VERSION=(\S+)$/m.exec(fs.readFileSync(DOUBLE, "utf8"))![1];
const REC = "/var/log/k0s-double";
const NAMES = ["ctl1", "ctl2", "worker1", "worker2"];
/** What the install (and the double's simulated calico-node) put on a host; destroy removes all. */
const LEFTOVERS = [
    "/usr/local/bin/k0s",
    "/var/lib/dualstack/k0s-airgap",
    "/etc/k0s",
    "/var/lib/k0s",
    "/etc/systemd/system/k0scontroller.service",
    "/etc/systemd/system/k0sworker.service",
    "/etc/cni/net.d/10-calico.conflist",
    "/etc/cni/net.d/calico-kubeconfig",
    "/opt/cni/bin/calico",
    "/var/lib/calico",
    // Empty directories too: the lab hosts have none of these before, so dualstack made them.
    "/etc/cni",
    "/opt/cni",
    "/var/lib/dualstack",
];
// K0sCluster is instantiated as "cluster" in index.ts; its children are `cluster-<node>-<step>`.
const isK0sStep = (r: ExecuteArgs) => /^cluster-[a-z0-9-]+$/.test(r.name) && r.name !== "cluster-k8s";

function labConfig(lab: Lab): Record<string, string> {
    return rawConfig({
        distribution: "k0s",
        version: DOUBLE_VERSION,
        ssh: { user: "root", privateKey: lab.privateKey },
        nodes: lab.hosts.map((h, i) => ({
            name: NAMES[i],
            host: h.ipv4,
            role: i < 2 ? "control-plane" : "worker",
            interface: h.iface,
            hostKey: h.hostKey,
            ...(i === 2 ? { labels: { "dualstack.example/tier": "edge" }, taints: ["dedicated=edge:NoSchedule"] } : {}),
        })),
        network: {
            nodeIpv6Prefix: "fd3c:9a1e:77b0:1::/64",
            podCidrs: ["10.244.0.0/16", "fd3c:9a1e:77b0:100::/56"],
            serviceCidrs: ["10.96.0.0/16", "fd3c:9a1e:77b0:200::/112"],
            provider: "calico",
        },
        calico: { mode: "bird" },
        cluster: { controllersRunWorkloads: true, tokenExpiry: "15m" },
        install: { source: "airgap", airgapDir: DOUBLE_DIR },
        traefik: { loadBalancer: "none" },
        checks: { enabled: false },
    });
}

async function must(h: LabHost, command: string): Promise<string> {
    const r = await h.inspect(command);
    assert.equal(r.code, 0, `${h.name}: ${command}: ${r.stderr}`);
    return r.stdout;
}

interface Call {
    ns: bigint;
    argv: string;
}

/** The double's recorded calls on a host, those from `sinceNs` on when given (lab hosts share the clock). */
async function calls(h: LabHost, sinceNs = 0n): Promise<Call[]> {
    const text = (await h.inspect(`cat ${REC}/calls.log 2>/dev/null || true`)).stdout;
    return text
        .split("\n")
        .filter(Boolean)
        .map((l) => ({ ns: BigInt(l.slice(0, l.indexOf(" "))), argv: l.slice(l.indexOf(" ") + 1) }))
        .filter((c) => c.ns >= sinceNs);
}

const nowNs = () => BigInt(Date.now()) * 1000000n;

describe("lab: k0s dual-stack cluster, air-gapped, with a recording k0s double", function () {
    this.timeout(300000);
    let lab: Lab;
    let plan: Plan;
    let result: RunResult;
    let timeline: TimelineEntry[];
    const byNode = (name: string) => lab.hosts[NAMES.indexOf(name)];

    before(async function () {
        requireLabPrerequisites();
        lab = await createLab({ hosts: 4, name: "k0s" });
        const config = labConfig(lab);
        plan = loadPlan((k) => config[k], "lab-k0s-double", Object.keys(config)).plan;
        const ex = labExecutor(lab, { select: isK0sStep });
        timeline = ex.timeline;
        // A failed step leaves its dependents' outputs unresolved and runProgram waiting for
        // them; fail the hook with the step's error (command and output) instead.
        let failed!: (e: unknown) => void;
        const failure = new Promise<never>((_, reject) => (failed = reject));
        const execute: typeof ex.execute = (r) => ex.execute(r).catch((e) => {
            failed(e);
            throw e;
        });
        result = await Promise.race([runProgram({ config, preview: false, execute, stackName: "lab-k0s-double" }), failure]);
    });

    after(async function () {
        if (lab) await lab.destroy();
        assert.deepEqual(leftoverNamespaces(), [], "the lab left network namespaces behind");
    });

    it("installs the air-gapped binary (the double) and writes each controller's planned k0s.yaml", async () => {
        for (const c of plan.controlPlanes) {
            const h = byNode(c.name);
            assert.equal(await must(h, "cat /etc/k0s/k0s.yaml"), renderK0sYaml(plan, c));
            assert.equal((await must(h, "/usr/local/bin/k0s version")).trim(), DOUBLE_VERSION);
        }
        for (const n of plan.nodes) {
            const h = byNode(n.name);
            assert.equal(await must(h, "cmp /usr/local/bin/k0s /var/lib/dualstack/k0s-airgap/k0s && sha256sum < /usr/local/bin/k0s"), (await must(h, `sha256sum < /var/lib/dualstack/k0s-airgap/k0s`)));
            const unit = n.role === "control-plane" ? "k0scontroller" : "k0sworker";
            assert.match(await must(h, `cat /etc/systemd/system/${unit}.service`), new RegExp(`ExecStart=/usr/local/bin/k0s ${n.role === "control-plane" ? "controller" : "worker"} `));
        }
    });

    it("every node's kubelet gets --node-ip with both families (primary first) and its own node name", async () => {
        for (const n of plan.nodes) {
            const installs = (await calls(byNode(n.name))).filter((c) => c.argv.startsWith("install "));
            assert.ok(installs.length >= 1, `${n.name}: no install recorded`);
            for (const c of installs) {
                assert.ok(c.argv.includes(`--kubelet-extra-args=--node-ip=${n.ipv4},${n.ipv6} --hostname-override=${n.name}`), `${n.name}: ${c.argv}`);
            }
            const started = (await calls(byNode(n.name))).filter((c) => /^(controller|worker) /.test(c.argv));
            assert.ok(started.some((c) => c.argv.includes(`--node-ip=${n.ipv4},${n.ipv6}`)), `${n.name}: the service did not run with --node-ip`);
        }
        const first = (await calls(byNode("ctl1"))).find((c) => c.argv.startsWith("install "))!;
        assert.match(first.argv, /^install controller -c \/etc\/k0s\/k0s\.yaml --enable-worker --no-taints /);
        assert.ok(!first.argv.includes("--token-file") && !first.argv.includes("--single"));
        const edge = (await calls(byNode("worker1"))).find((c) => c.argv.startsWith("install "))!;
        assert.ok(edge.argv.includes("--labels=dualstack.example/tier=edge") && edge.argv.includes("--taints=dedicated=edge:NoSchedule"));
    });

    it("join tokens: one per joining node, root-only files, never in any argv, environment or command string", async () => {
        const ledger = (await must(byNode("ctl1"), `cat ${REC}/issued-tokens.ledger`)).split("\n").filter(Boolean);
        assert.equal(ledger.length, 3, "ctl2, worker1 and worker2 each get a token");
        assert.equal(ledger.filter((t) => t.includes("-controller-")).length, 1);
        const tokenCalls = (await calls(byNode("ctl1"))).filter((c) => c.argv.startsWith("token create"));
        assert.deepEqual(tokenCalls.map((c) => c.argv).sort(), ["token create --role controller --expiry 15m", "token create --role worker --expiry 15m", "token create --role worker --expiry 15m"]);
        for (const h of lab.hosts) {
            const logs = (await h.inspect(`cat ${REC}/calls.log ${REC}/env.log 2>/dev/null; cat /run/systemctl-double/calls.log 2>/dev/null; true`)).stdout;
            for (const t of ledger) assert.ok(!logs.includes(t), `${h.name}: a join token is in a recorded argv or environment`);
        }
        for (const n of plan.nodes.filter((x) => x.name !== "ctl1")) {
            const h = byNode(n.name);
            const [mode, owner] = (await must(h, `stat -c '%a %U' ${K0S_TOKEN_FILE}`)).trim().split(" ");
            assert.equal(mode, "600");
            assert.equal(owner, "root");
            const token = (await must(h, `cat ${K0S_TOKEN_FILE}`)).trim();
            assert.ok(ledger.includes(token), `${n.name}: the token file holds no issued token`);
            const read = (await calls(h)).find((c) => c.argv.startsWith("token-file "));
            assert.ok(read && read.argv.includes("mode=600"), `${n.name}: k0s did not read a root-only token file`);
        }
        // Pulumi's side: outside the stdin of the node's own install, no registered input holds a token.
        for (const r of result.resources) {
            const { stdin, ...rest } = unwrapSecrets(r.inputs);
            for (const t of ledger) {
                assert.ok(!stringLeaves(rest).some((s) => s.includes(t)), `${r.name} carries a token outside stdin`);
                if (!/^cluster-(ctl2|worker1|worker2)-install$/.test(r.name)) assert.ok(!stringLeaves(stdin).some((s) => s.includes(t)), `${r.name} got a token`);
            }
        }
    });

    it("controllers install one at a time, workers concurrently after them", async () => {
        const create = (name: string) => timeline.find((t) => t.name === `cluster-${name}-install` && t.phase === "create")!;
        const [c1, c2, w1, w2] = NAMES.map(create);
        for (const t of [c1, c2, w1, w2]) assert.ok(t && t.ok, "every install ran for real");
        assert.ok(c2.start >= c1.end, "ctl2 started before ctl1 was ready");
        assert.ok(w1.start >= c2.end && w2.start >= c2.end, "a worker started before the controllers were ready");
        assert.ok(Math.max(w1.start, w2.start) < Math.min(w1.end, w2.end), `worker installs did not overlap: ${JSON.stringify([w1, w2])}`);
    });

    it("the kubeconfig is read from the first controller and points at the planned API URL", async () => {
        const kc = String(result.outputs.kubeconfig);
        assert.match(kc, new RegExp(`server: ${plan.api.url.replace(/[.]/g, "\\.")}\\n`));
        assert.ok(!kc.includes("localhost"));
        assert.ok((await calls(byNode("ctl1"))).some((c) => c.argv === "kubeconfig admin"));
    });

    it("create is idempotent: running a worker's install again changes no file", async () => {
        const inst = result.byName("cluster-worker2-install");
        const h = byNode("worker2");
        const snap = () => must(h, "find /etc/k0s /etc/systemd/system/k0sworker.service /usr/local/bin/k0s -type f -exec sha256sum {} + | sort");
        const before = await snap();
        await runRemote(lab, inst.name, unwrapSecrets(inst.inputs), unwrapSecrets(inst.inputs).create);
        assert.equal(await snap(), before);
    });

    it("a replaced install (a new node-ip replaces joined, token and install) reinstalls from the staged binary, which is not copied again", async () => {
        const h = byNode("worker2");
        const stagedSha = await must(h, "sha256sum < /var/lib/dualstack/k0s-airgap/k0s");
        const since = nowNs();
        const steps: TimelineEntry[] = [];
        // Pulumi's order for delete-before-replace: the old joined (drain) and install (reset) go,
        // then the new token, install and joined are created; stage and binary are kept.
        await replaceRegistered(result, lab, ["cluster-worker2-token", "cluster-worker2-install", "cluster-worker2-joined"], {
            stdinFrom: { "cluster-worker2-install": "cluster-worker2-token" },
            timeline: steps,
        });
        assert.deepEqual(
            steps.map((t) => `${t.phase} ${t.name} ${t.ok}`),
            ["delete cluster-worker2-joined true", "delete cluster-worker2-install true", "create cluster-worker2-token true", "create cluster-worker2-install true", "create cluster-worker2-joined true"],
        );
        const argv = (await calls(h, since)).map((c) => c.argv);
        assert.ok(argv.indexOf("reset") >= 0 && argv.findIndex((a) => a.startsWith("install worker ")) > argv.indexOf("reset"), `worker2 was not reset and installed again: ${argv.join("; ")}`);
        assert.equal(await must(h, "sha256sum < /usr/local/bin/k0s"), stagedSha, "the new install took the staged binary");
        assert.equal(await must(h, "sha256sum < /var/lib/dualstack/k0s-airgap/k0s"), stagedSha, "the staged binary is still there for the next change");
        assert.match(await must(h, "/usr/local/bin/k0s status"), /Role: worker/);
        // The new install joined with the new token (the last one issued).
        const ledger = (await must(byNode("ctl1"), `cat ${REC}/issued-tokens.ledger`)).split("\n").filter(Boolean);
        assert.equal((await must(h, `cat ${K0S_TOKEN_FILE}`)).trim(), ledger[ledger.length - 1]);
    });

    it("destroy: drain and delete each node from the first controller, reset workers before controllers, leave nothing behind", async () => {
        const present = (h: LabHost) =>
            must(
                h,
                [
                    `for p in ${LEFTOVERS.join(" ")}; do`,
                    '  if [ -e "$p" ]; then echo "$p"; fi',
                    "done",
                    "ip -o link show | awk -F': ' '{print $2}' | grep -E '^(cali|vxlan\\.calico|vxlan-v6\\.calico|tunl0)' || true",
                    "ls /run/systemctl-double/active 2>/dev/null | grep k0s || true",
                ].join("\n"),
            );
        // Control: before destroy every host has k0s and what calico-node leaves behind.
        for (const h of lab.hosts) {
            const have = (await present(h)).split("\n").filter(Boolean);
            for (const want of ["/usr/local/bin/k0s", "/var/lib/k0s", "/etc/cni/net.d/10-calico.conflist", "/var/lib/calico", "cali0123456789a", "vxlan.calico", "vxlan-v6.calico"]) {
                assert.ok(have.includes(want), `${h.name} lacks ${want} before destroy: ${have.join(", ")}`);
            }
        }
        const deletes: TimelineEntry[] = [];
        // Only the destroy's calls: an earlier test replaced worker2's install (a reset of its own).
        const since = nowNs();
        await destroyRegistered(result, lab, { timeline: deletes });
        const ended = (name: string) => deletes.find((d) => d.name === name)!;
        // Drains run on ctl1 before the node's reset.
        for (const n of ["ctl2", "worker1", "worker2"]) {
            const drain = ended(`cluster-${n}-joined`);
            assert.ok(drain.ok && drain.host === lab.hosts[0].name, `${n}: drained on ${drain?.host}`);
            assert.ok(drain.end <= ended(`cluster-${n}-install`).start, `${n} was reset before it was drained`);
        }
        const ctl1 = await calls(byNode("ctl1"), since);
        for (const n of ["ctl2", "worker1", "worker2"]) {
            assert.ok(ctl1.some((c) => c.argv.startsWith(`kubectl drain ${n} --ignore-daemonsets`)), `${n} not drained`);
            assert.ok(ctl1.some((c) => c.argv === `kubectl delete node ${n} --ignore-not-found`), `${n} not deleted`);
        }
        // Resets as the double recorded them: workers, then ctl2 (after leaving etcd), then ctl1.
        const resetAt = async (n: string) => (await calls(byNode(n), since)).find((c) => c.argv === "reset")!.ns;
        const [r1, r2, rw1, rw2] = await Promise.all(NAMES.map(resetAt));
        assert.ok(rw1 < r2 && rw2 < r2 && r2 < r1, "reset order must be workers, ctl2, ctl1");
        const ctl2 = await calls(byNode("ctl2"), since);
        const leave = ctl2.find((c) => c.argv === "etcd leave");
        assert.ok(leave && leave.ns < r2, "ctl2 did not leave etcd before its reset");
        for (const n of NAMES) {
            const stopAt = (await calls(byNode(n), since)).find((c) => c.argv === "stop")?.ns;
            assert.ok(stopAt !== undefined && stopAt < (await resetAt(n)), `${n}: not stopped before reset`);
        }
        for (const h of lab.hosts) {
            const left = await present(h);
            assert.equal(left.trim(), "", `${h.name} keeps: ${left}`);
        }
    });
});
