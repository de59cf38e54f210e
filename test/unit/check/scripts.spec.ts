// The dual-stack check's on-host collector and probe manifests: shellcheck-clean for every stack
// shape, templated only through shell quoting, and run end to end with `sh` against recording
// TEST DOUBLES of `k3s kubectl`, sleep and date (test/fixtures/check/doubles), which answer
// from the recorded fixtures.
import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { judgeOutput } from "../../../components/check/judge";
import { artifacts } from "../../../components/check/render";
import {
    calicoNamespace,
    CHECK_NAMESPACE,
    cleanupScript,
    collectorScript,
    defaultKubectl,
    kubeNodes,
    namespaceManifest,
    podToPodPairs,
    probePodsManifest,
    probeServiceManifest,
} from "../../../components/check/scripts";
import { loadPlan, Plan } from "../../../components/plan";
import { remoteCommand } from "../../../components/shell";
import { fixture, FIXTURES } from "../../fixtures/check/double";
import { baseConfig, planOf } from "../../support/configs";
import { stackConfig } from "../../support/program";
import { requireShellcheck, shellcheck } from "../../support/shellcheck";
import { tempDir } from "../../support/tmp";

function planFor(stack: string): Plan {
    const raw = stackConfig(stack);
    return loadPlan((k) => raw[k], stack, Object.keys(raw)).plan;
}

const K3S = planFor("lab-k3s");
const K0S = planFor("lab-k0s");

/** Stack shapes whose scripts differ: sudo, egress, MetalLB, one node, k0s without workload controllers. */
function shapes(): [string, Plan][] {
    return [
        ["lab-k3s", K3S],
        ["lab-k0s", K0S],
        ["sudo user, egress target, IPv6 first", planOf(baseConfig({
            ssh: { user: "ubuntu", privateKeyPath: "/root/.ssh/id_ed25519" },
            checks: { egressTarget: "2001:4860:4860::8888", timeoutSeconds: 120 },
            network: { nodeIpv6Prefix: "fd45:a71:55a6:1::/64", podCidrs: ["fd45:a71:55a6:4200::/56", "10.42.0.0/16"], serviceCidrs: ["fd45:a71:55a6:43::/112", "10.43.0.0/16"] },
        }))],
        ["k3s with MetalLB", planOf(baseConfig({ traefik: { loadBalancer: "metallb" }, metallb: { addresses: ["192.168.121.240/29", "fd45:a71:55a6:1::f0/125"] } }))],
        ["one node", planOf(baseConfig({ nodes: [{ name: "solo", host: "192.168.121.135", role: "control-plane", interface: "eth0" }] }))],
        ["k0s, controllers run no workloads", planOf(baseConfig({ distribution: "k0s", version: "v1.34.1+k0s.0", traefik: { loadBalancer: "none" }, cluster: { controllersRunWorkloads: false } }))],
        ["k0s, controller only", planOf(baseConfig({
            distribution: "k0s",
            version: "v1.34.1+k0s.0",
            traefik: { loadBalancer: "none" },
            cluster: { controllersRunWorkloads: false },
            nodes: [{ name: "ctl1", host: "192.168.121.135", role: "control-plane", interface: "eth0" }],
        }))],
    ];
}

// No exclusions: shell.ts `q` leaves IPv6 addresses bare (no `\:` escapes for SC1001 to flag).
const SHELLCHECK = ["-s", "sh", "-"];


describe("dual-stack check: collector script and manifests", () => {
    it("shellcheck, as invoked here, does flag a real problem", function () {
        requireShellcheck(this);
        const res = shellcheck(SHELLCHECK, "set -eu\nrm -rf $dir/*\n");
        assert.notEqual(res.status, 0);
    });

    it("shellcheck passes the collector, its delete script and the remote commands of every stack shape", function () {
        requireShellcheck(this);
        const dir = tempDir("dualstack-check-sc");
        const files: string[] = [];
        for (const [i, [, plan]] of shapes().entries()) {
            const kubectl = defaultKubectl(plan);
            // The remote command adds the sudo wrapper around the script.
            const texts = [collectorScript(plan, kubectl), cleanupScript(kubectl), remoteCommand(collectorScript(plan, kubectl), plan.ssh.sudo)];
            texts.forEach((t, j) => {
                const f = path.join(dir, `${i}-${j}.sh`);
                fs.writeFileSync(f, t);
                files.push(f);
            });
        }
        const res = shellcheck([...SHELLCHECK.slice(0, -1), ...files]);
        assert.equal(res.status, 0, `shellcheck (files ${dir}/<shape>-<script>.sh, shapes in order ${shapes().map(([n]) => n).join("; ")}):\n${res.stdout}${res.stderr}`);
    });

    it("waits for every planned node and probes a ring of node pairs", () => {
        const script = collectorScript(K3S, "k3s kubectl");
        for (const n of K3S.nodes) assert.ok(script.includes(`wait_for 'node ${n.name} Ready' k wait --for=condition=Ready node/${n.name} --timeout=10s`));
        assert.deepEqual(podToPodPairs(K3S), [["cp1", "worker1"], ["worker1", "worker2"], ["worker2", "cp1"]]);
        for (const [a, b] of podToPodPairs(K3S)) assert.ok(script.includes(`  pod_to_pod ${a} ${b}\n`));
        assert.match(script, /^deadline=\$\(\(started \+ 600\)\)$/m);
        assert.match(script, /^k\(\) \{ k3s kubectl "\$@"; \}$/m);
        assert.match(script, /^CALICO_NS=calico-system$/m);
        assert.match(collectorScript(K0S, "k0s kubectl"), /^CALICO_NS=kube-system$/m);
        assert.ok(script.includes('wait_for "Traefik load-balancer addresses of both families" traefik_lb_dual'));
        assert.ok(!collectorScript(K0S, "k0s kubectl").includes("traefik_lb_dual\n"), "no load-balancer wait when traefik.loadBalancer is none");
    });

    it("refuses a kubectl command that is not plain words", () => {
        for (const bad of ["k3s kubectl; touch /tmp/x", "$(id) kubectl", "k3s kubectl 'x'", ""]) {
            assert.throws(() => collectorScript(K3S, bad), /must be plain words/);
            assert.throws(() => cleanupScript(bad), /must be plain words/);
        }
        assert.match(collectorScript(K3S, "/usr/local/bin/k3s kubectl"), /^k\(\) \{ \/usr\/local\/bin\/k3s kubectl "\$@"; \}$/m);
    });

    it("pins one probe pod to every node that runs pods, tolerating every taint", () => {
        for (const [name, plan] of shapes()) {
            const list = parse(probePodsManifest(plan));
            assert.equal(list.kind, "List");
            assert.deepEqual(list.items.map((p: any) => p.spec.nodeName), kubeNodes(plan).map((n) => n.name), name);
            for (const pod of list.items) {
                assert.equal(pod.metadata.namespace, CHECK_NAMESPACE);
                assert.deepEqual(pod.spec.tolerations, [{ operator: "Exists" }]);
                assert.equal(pod.spec.containers[0].image, plan.checks.probeImage);
                assert.equal(pod.spec.automountServiceAccountToken, false);
                assert.equal(pod.spec.containers[0].command[2], `mkdir -p /www && echo ${pod.spec.nodeName} > /www/index.html && exec httpd -f -p 8080 -h /www`);
            }
        }
        assert.deepEqual(kubeNodes(K0S).map((n) => n.name), ["ctl1", "worker1", "worker2"]);
        const noWorkloads = shapes().find(([n]) => n === "k0s, controllers run no workloads")![1];
        assert.deepEqual(kubeNodes(noWorkloads).map((n) => n.name), ["worker1", "worker2"]);
    });

    it("asks for a RequireDualStack ClusterIP Service in the plan's family order, in a baseline namespace", () => {
        const v6first = shapes()[2][1];
        for (const plan of [K3S, v6first]) {
            const svc = parse(probeServiceManifest(plan));
            assert.equal(svc.spec.type, "ClusterIP");
            assert.equal(svc.spec.ipFamilyPolicy, "RequireDualStack");
            assert.deepEqual(svc.spec.ipFamilies, plan.families);
            assert.deepEqual(svc.spec.ports, [{ name: "http", port: 80, targetPort: "http" }]);
        }
        assert.deepEqual(parse(namespaceManifest()).metadata.labels, {
            "app.kubernetes.io/managed-by": "dualstack",
            "pod-security.kubernetes.io/enforce": "baseline",
        });
    });

    it("renders the collector, its delete and the probe manifests as the component registers them", () => {
        const kubectl = defaultKubectl(K3S);
        assert.deepEqual(
            artifacts(K3S).map((a) => a.path),
            ["nodes/cp1/scripts/dualstack-check.sh", "nodes/cp1/scripts/dualstack-check-delete.sh", "cluster/check/namespace.yaml", "cluster/check/probe-pods.yaml", "cluster/check/probe-service.yaml"],
        );
        assert.equal(artifacts(K3S)[0].content, collectorScript(K3S, kubectl));
        assert.equal(artifacts(K0S)[0].path, "nodes/ctl1/scripts/dualstack-check.sh");
        assert.match(artifacts(K0S)[0].content, /^k\(\) \{ k0s kubectl "\$@"; \}$/m);
        assert.equal(calicoNamespace(K0S), "kube-system");
    });

    describe("run with sh against the kubectl, sleep and date doubles", () => {
        interface Run {
            status: number | null;
            signal: NodeJS.Signals | null;
            stdout: string;
            stderr: string;
            calls: string[][];
            applied: string[];
            clock: number;
        }

        const START = 1787562131;

        function setup(scenario: string) {
            const dir = tempDir("dualstack-check-double");
            const bin = path.join(dir, "bin");
            fs.mkdirSync(bin);
            for (const d of ["k3s", "sleep", "date"]) {
                fs.copyFileSync(path.join(FIXTURES, "doubles", d), path.join(bin, d));
                fs.chmodSync(path.join(bin, d), 0o755);
            }
            fs.writeFileSync(path.join(dir, "clock"), `${START}\n`);
            // Short answers the double gives, derived from the recorded fixtures.
            const answers = path.join(dir, "answers");
            fs.mkdirSync(answers);
            const pods = fixture("probe-pods.json").items as { metadata: { name: string }; spec: { nodeName: string }; status: { podIPs: { ip: string }[] } }[];
            for (const p of pods) {
                fs.writeFileSync(path.join(answers, `pod-ips-${p.metadata.name}`), p.status.podIPs.map((x) => x.ip).join(" "));
                for (const x of p.status.podIPs) fs.writeFileSync(path.join(answers, `owner-${x.ip}`), `${p.spec.nodeName}\n`);
            }
            fs.writeFileSync(path.join(answers, "cluster-ips"), fixture("probe-service.json").spec.clusterIPs.join(" "));
            const traefik = fixture("traefik-services.json").items as { status: { loadBalancer: { ingress: { ip: string }[] } } }[];
            fs.writeFileSync(path.join(answers, "lb-ips"), traefik.flatMap((t) => t.status.loadBalancer.ingress.map((i) => i.ip)).join(" "));
            fs.writeFileSync(path.join(answers, "dns"), fixture("probes.json").dns.result.output);
            fs.writeFileSync(path.join(answers, "ping"), fixture("probes.egress-ok.json").egress.result.output + "\n");
            const env = {
                ...process.env,
                PATH: `${bin}:${process.env.PATH}`,
                DOUBLE_DIR: dir,
                DOUBLE_LOG: path.join(dir, "calls.log"),
                DOUBLE_CLOCK: path.join(dir, "clock"),
                DOUBLE_SCENARIO: scenario,
                DOUBLE_FIXTURES: FIXTURES,
            };
            const collect = (r: { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }): Run => ({
                ...r,
                calls: fs.existsSync(env.DOUBLE_LOG) ? fs.readFileSync(env.DOUBLE_LOG, "utf8").trim().split("\n").map((l) => l.split(" ")) : [],
                applied: fs.readdirSync(dir).filter((f) => f.startsWith("apply-")).sort().map((f) => fs.readFileSync(path.join(dir, f), "utf8")),
                clock: Number(fs.readFileSync(env.DOUBLE_CLOCK, "utf8")),
            });
            return { dir, bin, env, collect };
        }

        function runCollector(plan: Plan, scenario: string): Run {
            const { env, collect } = setup(scenario);
            const res = spawnSync("sh", ["-c", collectorScript(plan, "k3s kubectl")], { env, encoding: "utf8" });
            return collect({ status: res.status, signal: res.signal, stdout: res.stdout, stderr: res.stderr });
        }

        const deletesNamespace = (calls: string[][]) =>
            calls.filter((c) => c[1] === "delete" && c[2] === "namespace" && c[3] === CHECK_NAMESPACE).length;

        it("prints one document the judge passes, applies exactly the rendered manifests, and removes the namespace", function () {
            this.timeout(30000);
            const r = runCollector(K3S, "healthy");
            assert.equal(r.status, 0, r.stderr);
            const report = judgeOutput(r.stdout, r.stderr, K3S, "k3s kubectl");
            assert.equal(report.result, "passed", JSON.stringify(report.checks.filter((c) => c.status === "failed"), null, 1));
            assert.deepEqual(r.applied, [namespaceManifest() + "\n", probePodsManifest(K3S) + "\n", probeServiceManifest(K3S) + "\n"]);
            const doc = JSON.parse(r.stdout);
            assert.equal(doc.startedAt, "2026-08-24T10:02:11Z");
            assert.deepEqual(doc.waits.map((w: { what: string; ok: boolean }) => [w.what, w.ok]), [
                ["the API server", true],
                ["node cp1 Ready", true],
                ["node worker1 Ready", true],
                ["node worker2 Ready", true],
                ["calico-node on every node", true],
                ["Traefik load-balancer addresses of both families", true],
                ["the default ServiceAccount of dualstack-check", true],
                ["probe pods Ready", true],
            ]);
            // Leftovers of an earlier run go first; the probe objects go on exit.
            assert.equal(deletesNamespace(r.calls), 2);
            assert.deepEqual(r.calls.at(-1)!.slice(0, 4), ["kubectl", "delete", "namespace", CHECK_NAMESPACE]);
            assert.equal(r.clock, START, "nothing had to be retried");
        });

        it("still exits 0 with a document when the API never answers, within the deadline", function () {
            this.timeout(60000);
            const plan = { ...K3S, checks: { ...K3S.checks, timeoutSeconds: 30 } };
            const r = runCollector(plan, "api-down");
            assert.equal(r.status, 0, r.stderr);
            assert.ok(r.clock - START >= 30 && r.clock - START <= 40, `waited ${r.clock - START} s of fake time`);
            const report = judgeOutput(r.stdout, r.stderr, plan, "k3s kubectl");
            assert.equal(report.checks[0].status, "failed");
            assert.match(report.checks[0].findings![0].message, /could not list the nodes \(The connection to the server 127\.0\.0\.1:6443 was refused/);
            assert.match(r.stderr, /dualstack-check: gave up waiting for the API server/);
            assert.match(r.stderr, /could not remove namespace dualstack-check/);
        });

        it("keeps going when the Service is refused, and the judge names the single-stack cluster", function () {
            this.timeout(30000);
            const r = runCollector(K3S, "service-refused");
            assert.equal(r.status, 0, r.stderr);
            const report = judgeOutput(r.stdout, r.stderr, K3S, "k3s kubectl");
            assert.deepEqual(report.checks.filter((c) => c.status === "failed").map((c) => c.id), ["service"]);
            assert.match(report.checks.find((c) => c.id === "service")!.findings![0].cause, /created single-stack/);
            assert.equal(deletesNamespace(r.calls), 2);
        });

        it("retries a failing probe a bounded number of times and reports its output", function () {
            this.timeout(30000);
            const r = runCollector(K3S, "wget-fails");
            assert.equal(r.status, 0, r.stderr);
            const tries = r.calls.filter((c) => c[1] === "-n" && c[3] === "exec" && c[5] === "probe-worker1" && c[7] === "wget").length;
            assert.equal(tries, 6);
            const report = judgeOutput(r.stdout, r.stderr, K3S, "k3s kubectl");
            const f = report.checks.find((c) => c.id === "probe-pods")!.findings!;
            assert.equal(f.length, 1);
            assert.match(f[0].message, /^the probe on worker1 cannot reach the probe on worker2 over IPv6 \(\[fd45:a71:55a6:42e9:1f7c:b3a5:4d80:6e8c\]:8080: wget: download timed out\)$/);
        });

        it("removes the probe namespace when it is terminated mid-run", function () {
            this.timeout(30000);
            const { env, collect } = setup("slow-wait");
            return new Promise<void>((resolve, reject) => {
                const child = spawn("sh", ["-c", collectorScript(K3S, "k3s kubectl")], { env });
                let stdout = "";
                let stderr = "";
                child.stdout.on("data", (d) => (stdout += d));
                child.stderr.on("data", (d) => (stderr += d));
                setTimeout(() => child.kill("SIGTERM"), 500);
                child.on("close", (status, signal) => {
                    try {
                        const r = collect({ status, signal, stdout, stderr });
                        assert.equal(r.status, 143, stderr);
                        assert.equal(r.stdout, "", "no half document");
                        assert.deepEqual(r.calls.at(-1)!.slice(0, 4), ["kubectl", "delete", "namespace", CHECK_NAMESPACE]);
                        resolve();
                    } catch (e) {
                        reject(e);
                    }
                });
            });
        });
    });
});
