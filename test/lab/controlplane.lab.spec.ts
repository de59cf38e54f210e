// A real dual-stack kube-apiserver (+ etcd) in the first control-plane lab host, built from the Go
// modules under test/engine/modules (test/lab/controlplane.ts). What it proves that no double can:
// - the Traefik Service exactly as the program's values make the chart render it
//   (service.spec, RequireDualStack, the fixed clusterIPs) gets one ClusterIP per family from the
//   API server of a dual-stack cluster, and the API server itself refuses it on an IPv4-only one
//   (the seeds' failure);
// - the Calico Installation the program renders is admitted against the real operator.tigera.io
//   Installation CRD (test/fixtures/crds, pinned to calico.version), and a wrong one is refused;
// - the k3s/k0s doubles hand out a working kubeconfig for it, as `k3s kubectl config view --raw`
//   and `k0s kubeconfig admin` do, and their `kubectl` reaches it.
// Runs under `flock /tmp/dualstack-lab.lock npm run test:lab` with the other lab specs.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { AS_V1_MAX } from "../../components/calico/bgp-rules";
import { installationObject } from "../../components/calico/installation";
import type { Plan } from "../../components/plan";
import { TRAEFIK, traefikValues } from "../../components/traefik/values";
import { planOf } from "../support/configs";
import { rawConfigFromStackFile } from "../../scripts/render";
import { loadPlan } from "../../components/plan";
import { ControlPlane, controlPlaneBinDir, CP_DIR, startControlPlane } from "./controlplane";
import { K0S_DOUBLE_DIR, k3sAirgapDir } from "./doubles";
import { createLab, Lab } from "./harness";

const ROOT = path.resolve(__dirname, "..", "..");
const CRD = path.join(ROOT, "test", "fixtures", "crds", "operator.tigera.io_installations.yaml");

function labPlan(stack: string): Plan {
    const raw = rawConfigFromStackFile(fs.readFileSync(path.join(ROOT, "stacks", `Pulumi.${stack}.yaml`), "utf8"));
    return loadPlan((k) => raw[k], stack).plan;
}

/**
 * The Service the traefik stand-in chart renders from the program's values (its template:
 * test/fixtures/charts/standins/traefik): service.spec verbatim, the exposed ports.
 */
function traefikService(plan: Plan): object {
    const v = traefikValues(plan);
    return {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: TRAEFIK.release, namespace: TRAEFIK.namespace },
        spec: {
            ...v.service.spec,
            selector: { "app.kubernetes.io/name": "traefik" },
            ports: Object.entries(v.ports)
                .filter(([, p]) => p.expose.default)
                .map(([name, p]) => ({ name, port: p.exposedPort, targetPort: name, protocol: p.protocol })),
        },
    };
}

const ns = (name: string) => JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name } });

describe("lab: a real dual-stack kube-apiserver in the first control-plane host", function () {
    this.timeout(300_000);
    let lab: Lab;
    let dual: ControlPlane;
    let single: ControlPlane;
    const k3s = labPlan("lab-k3s");
    const k0s = labPlan("lab-k0s");

    let binDir: string;
    before(function () {
        // A cold cache builds etcd, kube-apiserver and kubectl (and the engine's tools) first:
        // about 16 minutes on 2 cores (README). A warm one answers at once.
        this.timeout(60 * 60_000);
        binDir = controlPlaneBinDir();
    });
    before(async () => {
        lab = await createLab({ hosts: 2, name: "cp" });
        // h1 as the lab-k3s stack's first control plane; h2 an IPv4-only cluster (the seeds' shape).
        dual = await startControlPlane(lab.hosts[0], { serviceCidrs: k3s.serviceCidrs.ordered, binDir });
        single = await startControlPlane(lab.hosts[1], { serviceCidrs: [k3s.serviceCidrs.ipv4], binDir });
        console.log(`      kube-apiserver ready in ${dual.startSeconds.toFixed(1)} s (dual-stack) / ${single.startSeconds.toFixed(1)} s (IPv4-only); etcd ${dual.etcdSeconds.toFixed(1)} s`);
    });
    after(async () => {
        await lab?.destroy();
    });

    it("gives the Traefik Service (RequireDualStack, fixed clusterIPs) one ClusterIP per family", async () => {
        assert.equal((await dual.apply("create", ns(TRAEFIK.namespace))).code, 0);
        const svc = traefikService(k3s);
        const r = await dual.apply("create", JSON.stringify(svc));
        assert.equal(r.code, 0, r.stderr);
        const live = JSON.parse((await dual.kubectl(`-n ${TRAEFIK.namespace} get service ${TRAEFIK.release} -o json`)).stdout);
        assert.equal(live.spec.ipFamilyPolicy, "RequireDualStack");
        assert.deepEqual(live.spec.ipFamilies, ["IPv4", "IPv6"]);
        assert.deepEqual(live.spec.clusterIPs, traefikValues(k3s).service.spec.clusterIPs);
        assert.equal(live.spec.clusterIPs.length, 2);
    });

    it("refuses the same Service on an IPv4-only cluster with the API server's own RequireDualStack error", async () => {
        assert.equal((await single.apply("create", ns(TRAEFIK.namespace))).code, 0);
        const r = await single.apply("create", JSON.stringify(traefikService(k3s)));
        assert.notEqual(r.code, 0);
        console.log(`      IPv4-only API server: ${r.stderr.trim()}`);
        // Upstream wording (pkg/apis/core/validation + the service REST allocator), not ours.
        assert.match(r.stderr, /Service "traefik" is invalid/);
        assert.match(r.stderr, /spec\.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services/);
        assert.match(r.stderr, /spec\.ipFamilies\[1\]: Invalid value: "IPv6": not configured on this cluster/);
    });

    it("admits the program's Calico Installation against the real operator.tigera.io CRD and refuses a wrong one", async () => {
        const crd = fs.readFileSync(CRD, "utf8");
        // 1.5 MB: too large for client-side apply's annotation, `create` stores it as is.
        const c = await dual.apply("create", crd);
        assert.equal(c.code, 0, c.stderr);
        // The API server's own CRD controller sets Established (no controller-manager needed);
        // `kubectl wait` gives up at once while the CRD has no conditions yet, so poll.
        const deadline = Date.now() + 60_000;
        for (;;) {
            const w = await dual.kubectl(`get crd installations.operator.tigera.io -o 'jsonpath={.status.conditions[?(@.type=="Established")].status}'`);
            if (w.stdout === "True") break;
            assert.ok(Date.now() < deadline, `CRD not established: ${w.stdout} ${w.stderr}`);
            await new Promise((r) => setTimeout(r, 200));
        }
        for (const plan of [k3s, planOf()]) {
            const inst = installationObject(plan);
            const r = await dual.apply("create", JSON.stringify(inst));
            assert.equal(r.code, 0, r.stderr);
            const live = JSON.parse((await dual.kubectl("get installation default -o json")).stdout);
            // Admitted as written; the CRD's defaults (e.g. disableBGPExport: false) come on top.
            const pools = inst.spec.calicoNetwork.ipPools as unknown as Record<string, unknown>[];
            assert.equal(live.spec.calicoNetwork.ipPools.length, pools.length);
            pools.forEach((p, i) => assert.deepEqual(Object.fromEntries(Object.keys(p).map((k) => [k, live.spec.calicoNetwork.ipPools[i][k]])), p));
            assert.equal((await dual.kubectl("delete installation default --wait=true")).code, 0);
        }
        const bad = installationObject(k3s) as unknown as { spec: { calicoNetwork: { ipPools: { encapsulation: string }[] } } };
        bad.spec.calicoNetwork.ipPools[0].encapsulation = "GRE";
        const r = await dual.apply("create", JSON.stringify(bad));
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /encapsulation: Unsupported value: "GRE"/);
    });

    it("an asNumber declared as Calico v1 declares it (integer, format int32) holds up to 2^31-1 and is refused above: the plan's limit (AS_V1_MAX) is the API server's", async () => {
        // Calico's crd.projectcalico.org/v1 BGPPeer and BGPConfiguration declare asNumber as
        // `type: integer, format: int32` (projectcalico/calico libcalico-go/config/crd), while
        // calico-node reads it as a uint32 (numorstring.ASNumber) and the plan accepts
        // 1-4294967295. Whether the API server holds a value above 2^31-1 against that declaration
        // decides whether 4-byte private ASes (4200000000-4294967294) work with the v1 objects:
        // they do not, so the plan refuses them (components/calico/bgp-rules.ts AS_V1_MAX).
        // Our own minimal CRD with the same field declaration, so the answer is the API server's.
        const group = "asprobe.dualstack.test";
        const crd = {
            apiVersion: "apiextensions.k8s.io/v1",
            kind: "CustomResourceDefinition",
            metadata: { name: `asprobes.${group}` },
            spec: {
                group,
                names: { kind: "AsProbe", plural: "asprobes", singular: "asprobe", listKind: "AsProbeList" },
                scope: "Cluster",
                versions: [
                    {
                        name: "v1",
                        served: true,
                        storage: true,
                        schema: { openAPIV3Schema: { type: "object", properties: { spec: { type: "object", properties: { asNumber: { type: "integer", format: "int32" } } } } } },
                    },
                ],
            },
        };
        assert.equal((await dual.apply("create", JSON.stringify(crd))).code, 0);
        const deadline = Date.now() + 60_000;
        for (;;) {
            const w = await dual.kubectl(`get crd asprobes.${group} -o 'jsonpath={.status.conditions[?(@.type=="Established")].status}'`);
            if (w.stdout === "True") break;
            assert.ok(Date.now() < deadline, `CRD not established: ${w.stdout} ${w.stderr}`);
            await new Promise((r) => setTimeout(r, 200));
        }
        const results: string[] = [];
        for (const as of [64512, AS_V1_MAX, AS_V1_MAX + 1, 4200000000, 4294967294]) {
            const name = `as-${as}`;
            const r = await dual.apply("create", JSON.stringify({ apiVersion: `${group}/v1`, kind: "AsProbe", metadata: { name }, spec: { asNumber: as } }));
            if (as <= AS_V1_MAX) {
                assert.equal(r.code, 0, `AS ${as}: ${r.stderr}`);
                const live = JSON.parse((await dual.kubectl(`get asprobes.${group} ${name} -o json`)).stdout);
                assert.equal(live.spec.asNumber, as, `AS ${as} stored as ${live.spec.asNumber}`);
                results.push(`${as} kept`);
            } else {
                assert.notEqual(r.code, 0, `AS ${as} was admitted: the plan's AS_V1_MAX refusal is too strict`);
                // Upstream wording (apiextensions-apiserver's schema validation), not ours.
                assert.match(r.stderr, /spec\.asNumber/);
                assert.match(r.stderr, /must be of type integer with format int32/);
                results.push(`${as} refused`);
            }
        }
        console.log(`      int32-declared asNumber on the real API server: ${results.join(", ")}`);
    });

    it("the k3s double writes the API server's kubeconfig as k3s.yaml and `k3s kubectl` reaches it", async () => {
        const h = lab.hosts[0];
        const dbl = fs.readFileSync(path.join(k3sAirgapDir(k3s.version), "k3s"), "utf8");
        await h.writeFile("/usr/local/bin/k3s", dbl, 0o755);
        await h.writeFile("/etc/dualstack/k3s-token", "labtoken-0123456789abcdef0123456789abcdef\n", 0o600);
        await h.writeFile("/etc/rancher/k3s/config.yaml", "token-file: /etc/dualstack/k3s-token\nwrite-kubeconfig-mode: \"0600\"\n");
        assert.equal((await h.ssh("k3s server")).code, 0);
        const view = await h.ssh("k3s kubectl config view --raw");
        assert.equal(view.code, 0, view.stderr);
        // kubectl drops the empty `preferences`; clusters, users and contexts are the same.
        const { preferences: _p, ...printed } = parse(view.stdout) as Record<string, unknown>;
        const { preferences: _q, ...written } = parse(dual.kubeconfig) as Record<string, unknown>;
        assert.deepEqual(printed, written);
        assert.equal((parse(view.stdout) as { clusters: { cluster: { server: string } }[] }).clusters[0].cluster.server, "https://127.0.0.1:6443");
        assert.equal((await h.ssh("k3s kubectl get --raw /readyz")).stdout, "ok");
        const ns = await h.ssh("k3s kubectl get namespace kube-system -o jsonpath={.metadata.name}");
        assert.equal(ns.stdout, "kube-system");
        // Still the doubles' (no kubelet registers a node in the lab):
        assert.match((await h.ssh("k3s kubectl get node cp1")).stdout, /Ready/);
        await h.inspect("rm -rf /etc/rancher /etc/dualstack /usr/local/bin/k3s /var/lib/rancher /run/k3s-double");
    });

    it("the k0s double prints the API server's kubeconfig for `k0s kubeconfig admin` and `k0s kubectl` reaches it", async () => {
        const h = lab.hosts[0];
        await h.writeFile("/usr/local/bin/k0s", fs.readFileSync(path.join(K0S_DOUBLE_DIR, "k0s"), "utf8"), 0o755);
        await h.writeFile("/var/lib/k0s/double-running", "controller\n");
        const kc = await h.ssh("k0s kubeconfig admin");
        assert.equal(kc.code, 0, kc.stderr);
        const doc = parse(kc.stdout) as { clusters: { cluster: { server: string; "certificate-authority-data": string } }[] };
        assert.equal(doc.clusters[0].cluster.server, "https://localhost:6443");
        assert.equal(Buffer.from(doc.clusters[0].cluster["certificate-authority-data"], "base64").toString(), dual.pki.caCrt);
        assert.equal((await h.ssh("k0s kubectl get --raw /readyz")).stdout, "ok");
        const svc = await h.ssh(`k0s kubectl -n ${TRAEFIK.namespace} get service ${TRAEFIK.release} -o jsonpath={.spec.clusterIPs}`);
        assert.equal(svc.code, 0, svc.stderr);
        assert.deepEqual(JSON.parse(svc.stdout), traefikValues(k3s).service.spec.clusterIPs);
        assert.equal(k0s.distribution, "k0s");
        await h.inspect(`rm -rf /usr/local/bin/k0s /var/lib/k0s /var/log/k0s-double; test -d ${CP_DIR}`);
    });
});
