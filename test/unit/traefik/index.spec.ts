import * as assert from "node:assert/strict";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { loadPlan, Plan } from "../../../components/plan";
import { Traefik } from "../../../components/traefik";
import { ipAddressPool, l2Advertisement, METALLB, metallbValues } from "../../../components/traefik/metallb";
import { expectedService, TRAEFIK, traefikValues } from "../../../components/traefik/values";
import { baseConfig, planOf } from "../../support/configs";
import { Registered, runProgram, RunResult, runUnderMocks, stackConfig, transitiveDeps } from "../../support/program";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const POOL = "kubernetes:metallb.io/v1beta1:IPAddressPool";
const L2 = "kubernetes:metallb.io/v1beta1:L2Advertisement";

/** Test double for "pod networking works" (Calico ready): the resource Traefik must come after. */
class NetworkReadyDouble extends pulumi.CustomResource {
    constructor(name: string) {
        super("test:index:NetworkReadyDouble", name, {});
    }
}

interface Seen {
    type: string;
    name: string;
    urn: string;
    parent: string;
    custom: boolean;
    inputs: Record<string, any>;
    deps: string[];
    provider: string;
    deleteBeforeReplace: boolean;
}

const urnOf = (res: pulumi.Resource) => new Promise<string>((resolve) => res.urn.apply((u) => (resolve(u), u)));
const valueOf = <T>(o: pulumi.Output<T>) => new Promise<T | undefined>((resolve) => o.apply((v) => (resolve(v), v)));

/**
 * The Traefik component alone under Pulumi's mocks, with test doubles for the cluster's provider
 * and for its dependsOn, recording what the engine is asked to register.
 */
async function runComponent(plan: Plan, preview: boolean) {
    const { resources, value } = await runUnderMocks({ stackName: "traefik-component-test", preview }, async () => {
        const networkReady = new NetworkReadyDouble("network-ready-double");
        const provider = new k8s.Provider("k8s-provider-double", { kubeconfig: "double", clusterIdentifier: "double" });
        const traefik = new Traefik("traefik", { plan, provider, dependsOn: [networkReady] });
        const [networkReadyUrn, providerUrn, traefikUrn] = await Promise.all([urnOf(networkReady), urnOf(provider), urnOf(traefik), urnOf(traefik.release)]);
        const outputs = {
            clusterIPs: await valueOf(traefik.clusterIPs),
            externalIPs: await valueOf(traefik.externalIPs),
            loadBalancerAddresses: await valueOf(traefik.loadBalancerAddresses),
        };
        return { traefik, networkReadyUrn, providerUrn, traefikUrn, outputs };
    });
    const seen: Seen[] = resources.map((r) => ({ ...r, deps: r.dependencies }));
    return { seen, ...value };
}

function closure(seen: Seen[], r: Seen): Set<string> {
    const byUrn = new Map(seen.map((s) => [s.urn, s]));
    const out = new Set<string>();
    const stack = [...r.deps];
    while (stack.length) {
        const u = stack.pop()!;
        if (out.has(u)) continue;
        out.add(u);
        stack.push(...(byUrn.get(u)?.deps ?? []));
    }
    return out;
}

const K0S_METALLB = baseConfig({
    distribution: "k0s",
    version: "v1.36.3+k0s.2",
    traefik: { loadBalancer: "metallb" },
    metallb: { addresses: ["192.168.121.200-192.168.121.220", "fd45:a71:55a6:1::200/124"], loadBalancerIPs: ["192.168.121.201", "fd45:a71:55a6:1::201"] },
});

describe("Traefik component alone (mock runtime, test doubles for provider and dependsOn)", () => {
    const cases: [string, Plan][] = [
        ["servicelb on k3s", planOf(baseConfig())],
        ["metallb on k0s", planOf(K0S_METALLB)],
        ["externalIPs", planOf(baseConfig({ traefik: { loadBalancer: "externalIPs", externalIPs: ["192.168.121.200", "fd45:a71:55a6:1::200"] } }))],
    ];
    for (const [name, plan] of cases) {
        for (const preview of [true, false]) {
            it(`${name}, ${preview ? "preview" : "update"}: everything waits for dependsOn, uses the given provider, carries the pure values`, async () => {
                const { seen, traefik, networkReadyUrn, providerUrn, traefikUrn, outputs } = await runComponent(plan, preview);
                const children = seen.filter((s) => s.parent === traefikUrn);
                const metallb = plan.traefik.loadBalancer === "metallb";
                assert.deepEqual(children.map((c) => c.name).sort(), metallb ? ["traefik-metallb", "traefik-metallb-l2", "traefik-metallb-pool", "traefik-release"] : ["traefik-release"]);
                for (const c of children) {
                    assert.ok(c.custom);
                    assert.ok(closure(seen, c).has(networkReadyUrn), `${c.name} does not wait for dependsOn`);
                    assert.ok(c.provider.startsWith(`${providerUrn}::`), `${c.name} uses ${c.provider}`);
                    assert.equal(c.deleteBeforeReplace, true, `${c.name}: fixed names, so delete must come before create`);
                }
                const release = children.find((c) => c.name === "traefik-release")!;
                assert.deepEqual(release.inputs.values, JSON.parse(JSON.stringify(traefikValues(plan))));
                assert.equal(release.inputs.chart, TRAEFIK.chart);
                assert.equal(release.inputs.version, plan.traefik.chartVersion);
                assert.deepEqual(release.inputs.repositoryOpts, { repo: "https://traefik.github.io/charts" });
                assert.equal(release.inputs.name, "traefik");
                assert.equal(release.inputs.namespace, "traefik");
                assert.equal(release.inputs.createNamespace, true);
                // Bounded release history: every upgrade leaves a Secret behind otherwise.
                assert.equal(release.inputs.maxHistory, 5);
                assert.equal(release.inputs.timeout, 600);
                if (metallb) {
                    const mrel = children.find((c) => c.name === "traefik-metallb")!;
                    const pool = children.find((c) => c.type === POOL)!;
                    const l2 = children.find((c) => c.type === L2)!;
                    assert.deepEqual(mrel.deps, [networkReadyUrn]);
                    assert.deepEqual(pool.deps, [mrel.urn], "the pool needs the CRDs and webhook of the MetalLB release");
                    assert.deepEqual(new Set(l2.deps), new Set([mrel.urn, pool.urn]));
                    // Helm waits for the LoadBalancer address, so Traefik goes after the pool.
                    assert.deepEqual(new Set(release.deps), new Set([networkReadyUrn, pool.urn, l2.urn]));
                    assert.deepEqual(mrel.inputs.values, metallbValues(plan));
                    assert.deepEqual([mrel.inputs.chart, mrel.inputs.version, mrel.inputs.namespace, mrel.inputs.repositoryOpts?.repo], ["metallb", "0.16.1", "metallb-system", METALLB.repo]);
                    assert.equal(mrel.inputs.maxHistory, 5);
                    assert.deepEqual(pool.inputs, JSON.parse(JSON.stringify(ipAddressPool(plan))));
                    assert.deepEqual(l2.inputs, JSON.parse(JSON.stringify(l2Advertisement(plan))));
                } else {
                    assert.deepEqual(release.deps, [networkReadyUrn]);
                }
                assert.deepEqual(traefik.ready, [traefik.release]);
                // Known even in preview: nothing here needs the live cluster.
                const e = expectedService(plan);
                assert.deepEqual(outputs, { clusterIPs: e.clusterIPs, externalIPs: e.externalIPs, loadBalancerAddresses: e.loadBalancer.addresses });
                assert.deepEqual(traefik.service, e);
            });
        }
    }
});

function planFromRaw(raw: Record<string, string>, stack: string): Plan {
    return loadPlan((k) => raw[k], stack, Object.keys(raw)).plan;
}

function traefikParts(r: RunResult) {
    const comps = r.byType("dualstack:index:Traefik");
    assert.equal(comps.length, 1);
    const children = r.resources.filter((x) => x.parent === comps[0].urn);
    return { comp: comps[0], children, byName: (n: string) => children.find((c) => c.name === n)! };
}

function k0sMetallbConfig(): Record<string, string> {
    return {
        ...stackConfig("lab-k0s"),
        "dualstack:traefik": JSON.stringify({ chartVersion: "41.3.0", loadBalancer: "metallb" }),
        "dualstack:metallb": JSON.stringify({ addresses: ["192.168.122.200-192.168.122.220", "fd7b:3e0c:91d4:1::200/124"] }),
    };
}

describe("Traefik in index.ts (mock runtime, whole program)", () => {
    const runs: [string, () => { stack?: string; config?: Record<string, string>; stackName: string }][] = [
        ["lab-k3s (servicelb)", () => ({ stack: "lab-k3s", stackName: "lab-k3s" })],
        ["k0s lab with MetalLB", () => ({ config: k0sMetallbConfig(), stackName: "lab-k0s-metallb" })],
    ];
    for (const [name, opts] of runs) {
        it(`${name}: preview registers the same Traefik resources as an update, with the values of the plan`, async () => {
            const o = opts();
            const raw = o.config ?? stackConfig(o.stack!);
            const plan = planFromRaw(raw, o.stackName);
            const preview = await runProgram({ ...o, preview: true });
            const update = await runProgram({ ...o, preview: false });
            const names = (r: RunResult) => traefikParts(r).children.map((c) => c.name).sort();
            assert.deepEqual(names(preview), names(update));
            for (const r of [preview, update]) {
                const { byName, children } = traefikParts(r);
                const release = byName("traefik-release");
                assert.equal(release.type, RELEASE);
                assert.deepEqual(release.inputs.values, JSON.parse(JSON.stringify(traefikValues(plan))));
                assert.equal(release.inputs.version, "41.3.0");
                // Every child talks to the cluster through the cluster component's provider.
                const providers = r.byType("pulumi:providers:kubernetes");
                for (const c of children) assert.ok(providers.some((p) => c.provider.startsWith(`${p.urn}::`)), `${c.name} uses ${c.provider}`);
                if (plan.traefik.loadBalancer === "metallb") {
                    const mrel = byName("traefik-metallb");
                    const pool = byName("traefik-metallb-pool");
                    const l2 = byName("traefik-metallb-l2");
                    assert.deepEqual(mrel.inputs.values, metallbValues(plan));
                    assert.deepEqual(pool.inputs.spec, ipAddressPool(plan).spec);
                    assert.deepEqual(l2.inputs.spec, { ipAddressPools: ["dualstack"] });
                    for (const cr of [pool, l2]) assert.ok(transitiveDeps(r, cr).has(mrel.urn), `${cr.name} must wait for the MetalLB release`);
                    for (const cr of [pool, l2]) assert.ok(release.dependencies.includes(cr.urn), `Traefik must wait for ${cr.name}`);
                    // MetalLB waits for what Traefik waits for: the same upstream (args.dependsOn).
                    const upstream = (x: Registered) => x.dependencies.filter((u) => !children.some((c) => c.urn === u));
                    assert.deepEqual(new Set(upstream(release)), new Set(upstream(mrel)));
                } else {
                    assert.equal(children.length, 1);
                }
                // index.ts passes Calico's `ready` (operator-managed Calico) or the cluster's
                // `nodesJoined`: once that component registers resources, Traefik waits for some.
                const source = plan.calico.managedBy === "operator" ? "dualstack:index:Calico" : plan.distribution === "k3s" ? "dualstack:index:K3sCluster" : "dualstack:index:K0sCluster";
                const sourceUrn = r.byType(source)[0]?.urn;
                const sourceChildren = r.resources.filter((x) => x.custom && x.parent === sourceUrn).map((x) => x.urn);
                if (sourceChildren.length > 0) {
                    const waits = transitiveDeps(r, release);
                    assert.ok(sourceChildren.some((u) => waits.has(u)), `traefik-release waits for nothing of ${source}`);
                }
                // Whatever index.ts passes as dependsOn reaches every child.
                const upstream = new Set(release.dependencies.filter((u) => !children.some((c) => c.urn === u)));
                for (const c of children) for (const u of upstream) assert.ok(transitiveDeps(r, c).has(u), `${c.name} does not wait for ${u}`);
            }
        });
    }
});
