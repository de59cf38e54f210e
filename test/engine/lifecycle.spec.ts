// `npm run test:engine`, part 2: the FULL `pulumi up` / `destroy` of k3s- and k0s-shaped lab stacks
// through the real engine (test/engine/engine.ts) against a real dual-stack kube-apiserver + etcd
// in the first lab host (test/lab/controlplane.ts). Calico's Installation, the Helm releases and
// Traefik's Service meet a real API server here:
// - the Installation is admitted against the real operator.tigera.io CRD (test/fixtures/crds);
// - Traefik's RequireDualStack Service gets one ClusterIP per family, and an IPv4-only
//   --service-cluster-ip-range makes the same `up` fail with the API server's own refusal;
// - the dual-stack check runs for real and fails on its nodes check (no kubelets): `up` fails
//   naming it; with checks off `up` passes;
// - `preview --expect-no-changes` passes after up, and `destroy` removes what the program made.
// Charts are the stand-ins (test/fixtures/charts/standins) through `dualstack:charts.<chart>.file`;
// no controller runs, so TEST STAND-INS (test/lab/controller-standins.ts) finish what the operator,
// the garbage collector and the namespace controller would. The kubernetes provider reaches the
// lab through a CONNECT proxy (connect-proxy.ts, HTTPS_PROXY). Under the lab lock:
//   flock /tmp/dualstack-lab.lock npm run test:engine
import * as assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { installationObject } from "../../components/calico/installation";
import { OPERATOR_NAMESPACE } from "../../components/calico/values";
import { familyOfAddress } from "../../components/net";
import { loadPlan, Plan } from "../../components/plan";
import { TRAEFIK, traefikValues } from "../../components/traefik/values";
import { writeStandins } from "../support/charts";
import { ENGINE_STACKS, EngineStackName, engineStackConfig, EngineStackOptions, K3S_ENGINE_VERSION } from "../support/engine-stacks";
import { ControllerStandins, startControllerStandins } from "../lab/controller-standins";
import { ControlPlane, controlPlaneBinDir, startControlPlane } from "../lab/controlplane";
import { k3sAirgapDir } from "../lab/doubles";
import { createLab, Lab, leftoverNamespaces, requireLabPrerequisites } from "../lab/harness";
import { ConnectProxy, startConnectProxy } from "./connect-proxy";
import { Engine, newStack, setConfig, startEngine } from "./engine";
import { hostState } from "./hosts";

const CRD = path.join(__dirname, "..", "fixtures", "crds", "operator.tigera.io_installations.yaml");
const numbers: Record<string, string> = {};
const seconds = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(1)}s`;

/** The error an Automation API operation failed with (its message carries the CLI's output). */
async function failureOf(p: Promise<unknown>): Promise<string> {
    try {
        await p;
    } catch (e) {
        return String((e as Error).message ?? e);
    }
    assert.fail("the operation succeeded; it should have failed");
}

function lifecycleSuite(stackName: EngineStackName): void {
    const shape = ENGINE_STACKS[stackName];
    const dist = shape.distribution;
    describe(`lifecycle: ${stackName}: full up and destroy through the real engine against a real dual-stack API server`, function () {
        let lab: Lab;
        let engine: Engine;
        let proxy: ConnectProxy;
        let cp: ControlPlane | undefined;
        let standins: ControllerStandins | undefined;
        const stacks: Stack[] = [];
        let opts: EngineStackOptions;
        let plan: Plan;
        let chartDir: string;
        const fresh = new Map<string, string>();
        /** What the controller stand-ins did, over every control plane of this suite. */
        const actions: string[] = [];
        const token = `lifetoken${randomBytes(20).toString("hex")}`;
        const secretKeys = dist === "k3s" ? ["dualstack:token"] : [];
        const kubectl = async (args: string) => {
            const r = await cp!.kubectl(args);
            assert.equal(r.code, 0, `kubectl ${args}: ${r.stderr}`);
            return r.stdout;
        };

        /** A real API server in the first host (+ the Installation CRD and the controller stand-ins). */
        async function controlPlane(serviceCidrs: string[]): Promise<void> {
            await standins?.stop();
            await cp?.stop();
            const t0 = Date.now();
            cp = await startControlPlane(lab.hosts[0], { serviceCidrs, binDir: controlPlaneBinDir() });
            numbers[`${stackName}: kube-apiserver ready (${serviceCidrs.length === 2 ? "dual-stack" : "IPv4-only"})`] = `${cp.startSeconds.toFixed(1)}s (with etcd and certificates ${seconds(t0)})`;
            if (plan.calico.managedBy === "operator") {
                // What the real operator does first when it starts (-manage-crds; components/calico/values.ts).
                const c = await cp.apply("create", fs.readFileSync(CRD, "utf8"));
                assert.equal(c.code, 0, c.stderr);
                const deadline = Date.now() + 60_000;
                while ((await cp.kubectl(`get crd installations.operator.tigera.io -o 'jsonpath={.status.conditions[?(@.type=="Established")].status}'`)).stdout !== "True") {
                    assert.ok(Date.now() < deadline, "the Installation CRD was not established");
                    await new Promise((r) => setTimeout(r, 200));
                }
            }
            standins = startControllerStandins(cp, lab.hosts[0], { calicoVersion: plan.calico.managedBy === "operator" ? plan.calico.version : undefined, actions });
        }

        /** Everything the program made on the API server (empty before up and after destroy). */
        async function programObjects(): Promise<string[]> {
            const kinds = ["secrets", "services", "serviceaccounts", "configmaps"];
            const out = (await kubectl(`get ${kinds.join(",")} -A -o 'jsonpath={range .items[*]}{.kind}/{.metadata.namespace}/{.metadata.name}{"\\n"}{end}'`)).split("\n").filter(Boolean);
            // The API server's own objects live in these (default/kubernetes, kube-system's configmaps);
            // the program puts nothing there.
            const own = out.filter((o) => !/^[A-Za-z]+\/(default|kube-system|kube-public|kube-node-lease)\//.test(o));
            if (plan.calico.managedBy === "operator") own.push(...(await kubectl("get installations.operator.tigera.io -o name")).split("\n").filter(Boolean));
            return own.sort();
        }

        before(async function () {
            this.timeout(0); // a cold cache builds the tools first (README "Engine")
            requireLabPrerequisites();
            lab = await createLab({ hosts: shape.hosts, name: `l${dist}` });
            engine = await startEngine({ forwarder: lab.forwarder });
            proxy = await startConnectProxy(lab.forwarder);
            Object.assign(engine.env, { HTTPS_PROXY: proxy.url, https_proxy: proxy.url, NO_PROXY: "", no_proxy: "" });
            for (const h of lab.hosts) fresh.set(h.name, await hostState(h));
            const charts = writeStandins();
            chartDir = path.dirname(charts.traefik);
            const keyPath = path.join(engine.workDir, "..", "id_lab");
            fs.writeFileSync(keyPath, lab.privateKey, { mode: 0o600 });
            opts = {
                distribution: dist,
                hosts: lab.hosts.map((h) => ({ name: h.name, ipv4: h.ipv4, iface: h.iface, hostKey: h.hostKey })),
                servers: shape.servers,
                privateKeyPath: keyPath,
                token,
                airgapDir: dist === "k3s" ? k3sAirgapDir(K3S_ENGINE_VERSION) : undefined,
                // No controller gives a LoadBalancer an address here (README's table): ClusterIP.
                loadBalancer: "none",
                chartFiles: dist === "k3s" ? { "tigera-operator": charts["tigera-operator"], traefik: charts.traefik } : { traefik: charts.traefik },
            };
            const config = engineStackConfig(opts);
            plan = loadPlan((k) => config[k], stackName, Object.keys(config)).plan;
            await controlPlane(plan.serviceCidrs.ordered);
        });

        after(async function () {
            this.timeout(600_000);
            const say = (m: string) => process.stderr.write(`      cleanup: ${m}\n`);
            try {
                await standins?.stop();
                // A failed run leaves nothing: each stack destroyed best-effort (the stand-ins
                // keep finishing deletions meanwhile) and removed.
                standins = cp ? startControllerStandins(cp, lab.hosts[0], {}) : undefined;
                for (const s of stacks) {
                    say(`destroying stack ${s.name}`);
                    await s.destroy({ continueOnError: true }).catch(() => undefined);
                    await s.workspace.removeStack(s.name, { force: true }).catch(() => undefined);
                }
                say("stopping the stand-ins and the control plane");
                await standins?.stop();
                await cp?.stop();
            } finally {
                say("closing the proxy, removing the lab");
                await proxy?.close();
                if (lab) await lab.destroy();
                engine?.cleanup();
                if (chartDir) fs.rmSync(chartDir, { recursive: true, force: true });
                if (opts?.airgapDir) fs.rmSync(opts.airgapDir, { recursive: true, force: true });
            }
            assert.deepEqual(leftoverNamespaces(), [], "the lab left network namespaces behind");
        });

        it("full `pulumi up` (checks off): the Installation (where the operator manages Calico) is admitted, Traefik's Service gets one ClusterIP per family", async () => {
            const before = await programObjects();
            const stack = await newStack(engine, stackName, engineStackConfig(opts), secretKeys);
            stacks.push(stack);
            const t0 = Date.now();
            await stack.up();
            numbers[`${stackName}: full up (${shape.hosts} hosts)`] = seconds(t0);
            assert.ok(proxy.tunnels.includes(`${lab.hosts[0].ipv4}:6443`), `the provider did not come through the proxy: ${proxy.tunnels.join(", ")}`);

            const svc = JSON.parse(await kubectl(`-n ${TRAEFIK.namespace} get service ${TRAEFIK.release} -o json`));
            assert.equal(svc.spec.ipFamilyPolicy, "RequireDualStack");
            assert.deepEqual(svc.spec.ipFamilies, plan.primaryFamily === "IPv6" ? ["IPv6", "IPv4"] : ["IPv4", "IPv6"]);
            assert.deepEqual(svc.spec.clusterIPs, traefikValues(plan).service.spec.clusterIPs);
            assert.deepEqual(svc.spec.clusterIPs.map(familyOfAddress), svc.spec.ipFamilies, "not one ClusterIP per family");

            const releases = (await kubectl("get secrets -A -l owner=helm -o 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{\"\\n\"}{end}'")).split("\n").filter(Boolean);
            if (plan.calico.managedBy === "operator") {
                assert.deepEqual(releases.sort(), ["tigera-operator/sh.helm.release.v1.calico.v1", `${TRAEFIK.namespace}/sh.helm.release.v1.${TRAEFIK.release}.v1`].sort());
                // Admitted against the real CRD: as written, with the CRD's defaults on top.
                const live = JSON.parse(await kubectl("get installations.operator.tigera.io default -o json"));
                const inst = installationObject(plan);
                const pools = inst.spec.calicoNetwork.ipPools as unknown as Record<string, unknown>[];
                assert.equal(live.spec.calicoNetwork.ipPools.length, 2);
                pools.forEach((p, i) => assert.deepEqual(Object.fromEntries(Object.keys(p).map((k) => [k, live.spec.calicoNetwork.ipPools[i][k]])), p));
                assert.equal(live.status.calicoVersion, plan.calico.version, "the operator stand-in's status");
            } else {
                assert.deepEqual(releases, [`${TRAEFIK.namespace}/sh.helm.release.v1.${TRAEFIK.release}.v1`]);
            }
            assert.ok((await programObjects()).length > before.length);
        });

        it("right after up, `pulumi preview --expect-no-changes` passes", async () => {
            await stacks[0].preview({ expectNoChanges: true });
        });

        it("the dual-stack check's negative run: no kubelets, its nodes check fails and `up` fails naming it; checks off, `up` passes", async () => {
            const stack = stacks[0];
            await setConfig(stack, engineStackConfig({ ...opts, checkSeconds: 30 }), secretKeys);
            const t0 = Date.now();
            const err = await failureOf(stack.up());
            numbers[`${stackName}: up with the failing check`] = seconds(t0);
            assert.match(err, /dual-stack check failed on stack/);
            assert.match(err, /✗ nodes: /);
            // What the API server alone can prove passes: the live Traefik Service has both families.
            assert.match(err, /Other checks: .*\btraefik passed/);
            const lines = [...new Set(err.split("\n").map((l) => l.trim()).filter((l) => /^(✗|Other checks)/.test(l)))];
            console.log(`      ${lines.join("\n      ")}`);
            await setConfig(stack, engineStackConfig(opts), secretKeys);
            await stack.up();
            await stack.preview({ expectNoChanges: true });
        });

        it("`pulumi destroy` removes the release Secrets, the Installation and what else the program made; hosts are back in their first state", async () => {
            const stack = stacks[0];
            const t0 = Date.now();
            await stack.destroy();
            numbers[`${stackName}: destroy`] = seconds(t0);
            assert.deepEqual(await programObjects(), [], "destroy left objects on the API server");
            // The namespaces Helm's createNamespace made stay (neither Helm's uninstall nor the
            // provider deletes them; README); the check's probe namespace is gone.
            const namespaces = (await kubectl("get namespaces -o 'jsonpath={.items[*].metadata.name}'")).split(" ");
            const left = namespaces.filter((n) => !/^(default|kube-system|kube-public|kube-node-lease)$/.test(n)).sort();
            assert.deepEqual(left, (plan.calico.managedBy === "operator" ? [OPERATOR_NAMESPACE, TRAEFIK.namespace] : [TRAEFIK.namespace]).sort(), "namespaces left other than the releases' (the check's probe namespace must be gone)");
            numbers[`${stackName}: namespaces left by destroy`] = left.join(", ");
            for (const h of lab.hosts) assert.equal(await hostState(h), fresh.get(h.name), `${h.name}: not back in its first state`);
            await stack.workspace.removeStack(stack.name);
            stacks.splice(stacks.indexOf(stack), 1);
        });

        it("with an IPv4-only --service-cluster-ip-range the same `up` fails with the API server's own RequireDualStack refusal", async () => {
            await controlPlane([plan.serviceCidrs.ipv4]);
            const stack = await newStack(engine, `${stackName}-v4only`, engineStackConfig(opts), secretKeys);
            stacks.push(stack);
            const err = await failureOf(stack.up());
            assert.match(err, /Service "traefik" is invalid/);
            assert.match(err, /spec\.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services/);
            console.log(`      ${/[^\n]*this cluster is not configured for dual-stack services[^\n]*/.exec(err)![0].trim().slice(0, 400)}`);
            await stack.destroy();
            for (const h of lab.hosts) assert.equal(await hostState(h), fresh.get(h.name), `${h.name}: not back in its first state`);
            await stack.workspace.removeStack(stack.name);
            stacks.splice(stacks.indexOf(stack), 1);
        });

        it("the controller stand-ins did only their named parts", () => {
            // Printed for the record: what the test played of the operator, GC and namespace controller.
            numbers[`${stackName}: stand-in actions`] = [...new Set(actions.map((a) => a.replace(/ \(\d+ objects\)$/, "")))].join("; ");
            assert.ok(actions.length > 0);
            for (const a of actions) assert.match(a, /^(operator: status\.calicoVersion=|garbage collector: foregroundDeletion removed|namespace controller: (emptied|finalized) namespace\/)/);
        });
    });
}

describe("lifecycle: full up/destroy against a real dual-stack API server", function () {
    after(() => {
        process.stderr.write(`\nlifecycle numbers:\n${Object.entries(numbers).map(([k, v]) => `  ${k}: ${v}`).join("\n")}\n`);
    });
    lifecycleSuite("engine-k3s");
    lifecycleSuite("engine-k0s");
});
