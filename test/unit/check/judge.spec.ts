// The dual-stack check's judge against recorded `kubectl ... -o json` output (test/fixtures/check,
// see its README): a healthy lab-k3s cluster passes every check, and each broken cluster fails
// exactly the check it breaks, with a message naming the evidence, the cause and the fix.
import * as assert from "node:assert/strict";
import fc from "fast-check";
import {
    aaaaAnswers,
    CheckEntry,
    CheckId,
    CollectorDocument,
    DOCUMENT_SCHEMA,
    failureMessage,
    judge,
    judgeOutput,
    Report,
} from "../../../components/check/judge";
import { loadPlan, Plan } from "../../../components/plan";
import { fixture, healthyDocument } from "../../fixtures/check/double";
import { baseConfig, planOf } from "../../support/configs";
import { stackConfig } from "../../support/program";

function planFor(stack: string): Plan {
    const raw = stackConfig(stack);
    return loadPlan((k) => raw[k], stack, Object.keys(raw)).plan;
}

const K3S = planFor("lab-k3s");
const KUBECTL = "k3s kubectl";

interface Files {
    nodes?: string;
    calicoPods?: string;
    ipPools?: string;
    probePods?: string;
    probeService?: string;
    traefikServices?: string;
    probes?: string;
}

/** The recorded healthy lab-k3s document, with some captures taken from other fixture files. */
function recorded(files: Files = {}, extra: Partial<CollectorDocument> = {}): CollectorDocument {
    const f = { nodes: "nodes.json", calicoPods: "calico-pods.json", ipPools: "ippools.json", probePods: "probe-pods.json", probeService: "probe-service.json", traefikServices: "traefik-services.json", probes: "probes.json", ...files };
    return {
        schema: DOCUMENT_SCHEMA,
        startedAt: "2026-08-24T10:02:11Z",
        finishedAt: "2026-08-24T10:02:58Z",
        nodes: { json: fixture(f.nodes) },
        calicoPods: { json: fixture(f.calicoPods) },
        ipPools: { json: fixture(f.ipPools) },
        probePods: { json: fixture(f.probePods) },
        probeService: { json: fixture(f.probeService) },
        probeEvents: { json: fixture("probe-events.json") },
        traefikServices: { json: fixture(f.traefikServices) },
        waits: [
            { what: "the API server", ok: true, seconds: 0 },
            { what: "node cp1 Ready", ok: true, seconds: 0 },
            { what: "probe pods Ready", ok: true, seconds: 6 },
        ],
        applyErrors: [],
        probes: fixture(f.probes),
        ...extra,
    };
}

function status(r: Report): Record<CheckId, string> {
    return Object.fromEntries(r.checks.map((c) => [c.id, c.status])) as Record<CheckId, string>;
}

function entry(r: Report, id: CheckId): CheckEntry {
    return r.checks.find((c) => c.id === id)!;
}

const HEALTHY: Omit<Record<CheckId, string>, "bgp"> = {
    nodes: "passed",
    "calico-node": "passed",
    "ipv6-pool": "passed",
    "probe-pods": "passed",
    service: "passed",
    traefik: "passed",
    "ipv6-egress": "skipped",
};

describe("dual-stack check: judge", () => {
    it("passes the recorded healthy lab-k3s cluster, with evidence for every node", () => {
        const r = judge(recorded(), K3S, KUBECTL);
        assert.deepEqual(status(r), HEALTHY);
        assert.equal(r.result, "passed");
        assert.equal(r.summary, "7 checks: 6 passed, 0 failed, 1 skipped");
        const nodes = entry(r, "nodes").evidence.join("\n");
        for (const n of K3S.nodes) assert.match(nodes, new RegExp(`${n.name}: Ready, InternalIP ${n.ipv4}, ${n.ipv6}`));
        assert.match(entry(r, "calico-node").evidence.join("\n"), /cp1: calico-node-x7k2p Ready, IPv4Address 192\.168\.121\.135\/24, IPv6Address fd45:a71:55a6:1::afea:3220\/64/);
        assert.match(entry(r, "probe-pods").evidence.join("\n"), /pod-to-pod IPv6 worker2 -> cp1 \[fd45:a71:55a6:42c7:5a3e:9d12:6b40:1c47\]:8080: answered "cp1"/);
        assert.match(entry(r, "service").evidence.join("\n"), /DNS AAAA .* fd45:a71:55a6:43::9f21/);
        assert.equal(entry(r, "ipv6-egress").cause, "dualstack:checks.egressTarget is not set");
    });

    // Each broken cluster: the fixture files that differ, the one check that must fail, and what
    // its first finding must say.
    const broken: {
        name: string;
        files?: Files;
        extra?: Partial<CollectorDocument>;
        plan?: Plan;
        fails: CheckId;
        message: RegExp;
        cause: RegExp;
        fix: RegExp;
    }[] = [
        {
            name: "nodes registered with IPv4 addresses only",
            files: { nodes: "nodes.ipv4-only.json" },
            fails: "nodes",
            message: /^node cp1 has no IPv6 InternalIP \(addresses: InternalIP 192\.168\.121\.135, Hostname cp1\)$/,
            cause: /single-family node-ip/,
            fix: /\/etc\/rancher\/k3s\/config\.yaml on cp1 must say node-ip 192\.168\.121\.135,fd45:a71:55a6:1::afea:3220/,
        },
        {
            name: "nodes without an IPv6 pod CIDR (cluster created single-stack)",
            files: { nodes: "nodes.single-podcidr.json" },
            fails: "nodes",
            message: /^node cp1 has only the IPv4 pod CIDR 10\.42\.0\.0\/24$/,
            cause: /created single-stack, and dual-stack can only be set when a cluster is first created/,
            fix: /cluster-cidr must list 10\.42\.0\.0\/16,fd45:a71:55a6:4200::\/56 .*pulumi destroy, then pulumi up/,
        },
        {
            name: "a node that is not Ready because the CNI is down",
            files: { nodes: "nodes.not-ready.json" },
            fails: "nodes",
            message: /^node worker2 is not Ready \(KubeletNotReady: container runtime network not ready/,
            cause: /pod network is not up/,
            fix: /kubectl describe node worker2; on worker2: journalctl -u k3s-agent/,
        },
        {
            name: "calico-node that detected no IPv6 address (host preparation on)",
            files: { nodes: "nodes.calico-no-ipv6.json" },
            fails: "calico-node",
            message: /^calico-node on cp1 detected no IPv6 address \(the Node has no projectcalico\.org\/IPv6Address annotation\)$/,
            cause: /the planned address fd45:a71:55a6:1::afea:3220\/64 is not on eth0 of cp1 .*nodeAddressAutodetectionV6/,
            fix: /ip -6 addr show dev eth0 must list fd45:a71:55a6:1::afea:3220\/64; then kubectl -n calico-system delete pod calico-node-x7k2p/,
        },
        {
            name: "calico-node that detected no IPv6 address (host preparation off)",
            files: { nodes: "nodes.calico-no-ipv6.json" },
            plan: { ...K3S, hostPrep: { enabled: false } },
            fails: "calico-node",
            message: /^calico-node on cp1 detected no IPv6 address/,
            cause: /^the host has no global IPv6 address inside fd45:a71:55a6:1::\/64 \(Calico never picks a link-local fe80::\/10 address\), and host preparation is off$/,
            fix: /^enable host preparation \(dualstack:hostPrep\.enabled: true\)/,
        },
        {
            name: "calico-node that detected another IPv6 address (a SLAAC address in the node prefix)",
            files: { nodes: "nodes.calico-other-ipv6.json" },
            fails: "calico-node",
            message: /^calico-node on worker1 detected fd45:a71:55a6:1:5054:ff:fe3a:9c12\/64, planned fd45:a71:55a6:1::1853:255a\/64$/,
            cause: /autodetection \(cidr=fd45:a71:55a6:1::\/64\) found another global address/,
            fix: /remove the other address from worker1/,
        },
        {
            name: "calico-node crash-looping",
            files: { calicoPods: "calico-pods.crashloop.json" },
            fails: "calico-node",
            message: /^calico-node on cp1 is not Ready \(Running, calico-node: CrashLoopBackOff .*5 restarts\)$/,
            cause: /BGP sessions \(TCP 179\)/,
            fix: /kubectl -n calico-system logs calico-node-x7k2p -c calico-node/,
        },
        {
            name: "an IPv6 pool without natOutgoing (operator default)",
            files: { ipPools: "ippools.no-nat.json" },
            fails: "ipv6-pool",
            message: /^the IPv6 IPPool default-ipv6-ippool has natOutgoing false, configured true \(dualstack:calico\.ipv6NatOutgoing\)$/,
            cause: /defaults natOutgoing to Disabled on IPv6 pools/,
            fix: /natOutgoing: Enabled/,
        },
        {
            name: "an IPv6 pool without natOutgoing (k0s-managed Calico)",
            files: { ipPools: "ippools.no-nat.json" },
            plan: { ...K3S, calico: { ...K3S.calico, managedBy: "k0s" } },
            // k0s keeps calico-node in kube-system: the recorded pods are in calico-system but
            // are listed by label, so only the pool differs.
            fails: "ipv6-pool",
            message: /natOutgoing false, configured true/,
            cause: /CALICO_IPV6POOL_NAT_OUTGOING=true, and calico-node applies it only when it first creates the pool/,
            fix: /kubectl patch ippools\.crd\.projectcalico\.org default-ipv6-ippool --type merge -p '\{"spec":\{"natOutgoing":true\}\}'/,
        },
        {
            name: "no IPv6 pool at all",
            files: { ipPools: "ippools.ipv4-only.json" },
            fails: "ipv6-pool",
            message: /^there is no IPv6 IPPool \(pools: default-ipv4-ippool 10\.42\.0\.0\/16\)$/,
            cause: /Installation lists no IPv6 pool/,
            fix: /fd45:a71:55a6:4200::\/56/,
        },
        {
            name: "a probe pod with one IP",
            files: { probePods: "probe-pods.single-ip.json", probes: "probes.single-ip.json" },
            fails: "probe-pods",
            message: /^the probe pod on worker1 got only 10\.42\.189\.9 \(no IPv6 address\)$/,
            cause: /assign_ipv6/,
            fix: /on worker1: grep assign_ \/etc\/cni\/net\.d\/10-calico\.conflist/,
        },
        {
            name: "a probe pod whose image cannot be pulled",
            files: { probePods: "probe-pods.image-pull.json" },
            extra: {
                probes: {
                    ...fixture("probes.json"),
                    podToPod: [
                        { from: "cp1", to: "worker1", target: "fd45:a71:55a6:4213:88f0:2ad4:e1c6:9b09", result: { rc: 0, tries: 1, output: "worker1" } },
                        { from: "worker1", to: "worker2", target: null },
                        { from: "worker2", to: "cp1", target: "fd45:a71:55a6:42c7:5a3e:9d12:6b40:1c47", result: { rc: 1, tries: 6, output: 'error: unable to upgrade connection: container not found ("probe")' } },
                    ],
                },
            },
            fails: "probe-pods",
            message: /^the probe pod on worker2 is not Ready \(Pending, probe: ImagePullBackOff/,
            cause: /^worker2 cannot pull busybox:1\.37\.0$/,
            fix: /dualstack:checks\.probeImage/,
        },
        {
            name: "pod-to-pod IPv6 that does not get through",
            files: { probes: "probes.pod-to-pod-fails.json" },
            fails: "probe-pods",
            message: /^the probe on worker1 cannot reach the probe on worker2 over IPv6 \(\[fd45:a71:55a6:42e9:1f7c:b3a5:4d80:6e8c\]:8080: wget: download timed out\)$/,
            cause: /exchanged over BGP .* fd45:a71:55a6:1::1853:255a and fd45:a71:55a6:1::bcef:b009 directly/,
            fix: /on worker1: ping -6 -c 3 fd45:a71:55a6:1::bcef:b009/,
        },
        {
            name: "a single-stack probe Service",
            files: { probeService: "probe-service.single-stack.json" },
            fails: "service",
            message: /^the probe Service got clusterIPs 10\.43\.187\.23 \(ipFamilyPolicy SingleStack\)$/,
            cause: /single service-cluster-ip-range/,
            fix: /service-cidr must list 10\.43\.0\.0\/16,fd45:a71:55a6:43::\/112/,
        },
        {
            name: "a RequireDualStack Service refused by a single-stack cluster",
            extra: {
                probeService: { error: 'Error from server (NotFound): services "dualstack-probe" not found' },
                applyErrors: [
                    {
                        what: "probe Service",
                        error: 'The Service "dualstack-probe" is invalid: spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services',
                    },
                ],
            },
            fails: "service",
            message: /^the RequireDualStack probe Service was refused \(The Service "dualstack-probe" is invalid: .*not configured for dual-stack services\)$/,
            cause: /created single-stack/,
            fix: /pulumi destroy, then pulumi up/,
        },
        {
            name: "cluster DNS without an AAAA record",
            files: { probes: "probes.no-aaaa.json" },
            fails: "service",
            message: /^cluster DNS returned no AAAA record for dualstack-probe\.dualstack-check\.svc\.cluster\.local \(\*\*\* Can't find dualstack-probe\.dualstack-check\.svc\.cluster\.local: No answer\)$/,
            cause: /CoreDNS did not answer with the Service's IPv6 clusterIP fd45:a71:55a6:43::9f21/,
            fix: /k8s-app=kube-dns/,
        },
        {
            name: "a single-stack Traefik Service",
            files: { traefikServices: "traefik-services.single-stack.json" },
            fails: "traefik",
            message: /^the Traefik Service traefik\/traefik is SingleStack \(clusterIPs 10\.43\.0\.11\)$/,
            cause: /under service\.spec; the old top-level service\.ipFamilyPolicy is accepted and silently ignored/,
            fix: /service\.spec\.ipFamilyPolicy: RequireDualStack/,
        },
        {
            name: "Traefik load-balancer addresses of one family",
            files: { traefikServices: "traefik-services.lb-ipv4-only.json" },
            fails: "traefik",
            message: /^the Traefik Service traefik\/traefik has load-balancer addresses 192\.168\.121\.135, 192\.168\.121\.136, 192\.168\.121\.137, none of IPv6$/,
            cause: /ServiceLB publishes each node's ExternalIP, else InternalIP/,
            fix: /svccontroller\.k3s\.cattle\.io\/svcname=traefik/,
        },
        {
            name: "Traefik without the configured external addresses",
            plan: { ...K3S, traefik: { ...K3S.traefik, loadBalancer: "externalIPs", externalIPs: ["192.168.121.200", "fd45:a71:55a6:1::200"] } },
            fails: "traefik",
            message: /^the Traefik Service traefik\/traefik has externalIPs none, configured 192\.168\.121\.200, fd45:a71:55a6:1::200$/,
            cause: /old top-level service\.externalIPs is silently ignored/,
            fix: /service\.spec\.externalIPs/,
        },
        {
            name: "IPv6 egress that does not get out",
            files: { probes: "probes.egress-fails.json" },
            plan: { ...K3S, checks: { ...K3S.checks, egressTarget: "2001:4860:4860::8888" } },
            fails: "ipv6-egress",
            message: /^the probe on cp1 cannot reach 2001:4860:4860::8888 over IPv6 \(3 packets transmitted, 0 packets received, 100% packet loss\)$/,
            cause: /no IPv6 route to 2001:4860:4860::8888/,
            fix: /ip -6 route show default/,
        },
    ];

    for (const c of broken) {
        it(`fails ${c.fails} only, on ${c.name}`, () => {
            const plan = c.plan ?? K3S;
            const r = judge(recorded(c.files, c.extra), plan, KUBECTL);
            const expected = { ...HEALTHY, ...(plan.checks.egressTarget ? { "ipv6-egress": "passed" } : {}), [c.fails]: "failed" };
            assert.deepEqual(status(r), expected);
            assert.equal(r.result, "failed");
            const e = entry(r, c.fails);
            const f = e.findings![0];
            assert.match(f.message, c.message);
            assert.match(f.cause, c.cause);
            assert.match(f.fix, c.fix);
            assert.ok(e.cause!.startsWith(`${f.message}: ${f.cause}`));
            const msg = failureMessage(r);
            assert.ok(msg.includes(`✗ ${c.fails}: `), msg);
            assert.ok(msg.includes(`  - ${f.message}: ${f.cause}.\n    Fix: ${f.fix}.`), msg);
        });
    }

    it("passes IPv6 egress when the target answers", () => {
        const plan = { ...K3S, checks: { ...K3S.checks, egressTarget: "2001:4860:4860::8888" } };
        const r = judge(recorded({ probes: "probes.egress-ok.json" }), plan, KUBECTL);
        assert.deepEqual(status(r), { ...HEALTHY, "ipv6-egress": "passed" });
        assert.match(entry(r, "ipv6-egress").evidence[0], /3 packets transmitted, 3 packets received, 0% packet loss/);
    });

    it("blames NAT outgoing for failed egress when it is switched off", () => {
        const plan = { ...K3S, calico: { ...K3S.calico, ipv6NatOutgoing: false }, checks: { ...K3S.checks, egressTarget: "2001:4860:4860::8888" } };
        const r = judge(recorded({ probes: "probes.egress-fails.json", ipPools: "ippools.no-nat.json" }), plan, KUBECTL);
        assert.equal(entry(r, "ipv6-pool").status, "passed");
        assert.match(entry(r, "ipv6-egress").findings![0].cause, /IPv6 NAT outgoing is off \(dualstack:calico\.ipv6NatOutgoing: false\)/);
    });

    it("does not judge egress from a probe pod that is not Ready", () => {
        const plan = { ...K3S, checks: { ...K3S.checks, egressTarget: "2001:4860:4860::8888" } };
        const pods = fixture("probe-pods.image-pull.json");
        // The client is the probe on the first node; make it the one that cannot pull.
        for (const p of pods.items) p.spec.nodeName = { worker2: "cp1", cp1: "worker2" }[p.spec.nodeName as string] ?? p.spec.nodeName;
        const r = judge(recorded({ probes: "probes.egress-fails.json" }, { probePods: { json: pods } }), plan, KUBECTL);
        assert.equal(entry(r, "ipv6-egress").status, "skipped");
        assert.match(entry(r, "ipv6-egress").cause!, /the probe pod on cp1 is not Ready/);
        assert.equal(entry(r, "probe-pods").status, "failed");
    });

    it("names a node that never registered, with the agent's service", () => {
        const nodes = fixture("nodes.json");
        nodes.items = nodes.items.filter((n: { metadata: { name: string } }) => n.metadata.name !== "worker2");
        const r = judge({ ...recorded(), nodes: { json: nodes } }, K3S, KUBECTL);
        const f = entry(r, "nodes").findings!;
        assert.equal(f[0].message, "node worker2 is not registered in the cluster");
        assert.equal(f[0].fix, "on worker2: systemctl status k3s-agent; journalctl -u k3s-agent -n 100");
    });

    it("reports an API server that never answered once, and skips what needs it", () => {
        const doc = recorded({}, {
            nodes: { error: "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?" },
            waits: [{ what: "the API server", ok: false, seconds: 600 }],
        });
        const r = judge(doc, K3S, KUBECTL);
        assert.deepEqual(status(r), {
            nodes: "failed",
            "calico-node": "skipped",
            "ipv6-pool": "skipped",
            "probe-pods": "skipped",
            service: "skipped",
            traefik: "skipped",
            "ipv6-egress": "skipped",
        });
        const e = entry(r, "nodes");
        assert.match(e.findings![0].message, /^k3s kubectl on cp1 could not list the nodes \(The connection to the server 127\.0\.0\.1:6443 was refused/);
        assert.match(e.findings![0].cause, /the k3s service on cp1 is stopped or still starting/);
        assert.ok(e.evidence.includes("gave up waiting for the API server at 600 s (deadline dualstack:checks.timeoutSeconds = 600)"));
    });

    it("fails with the collector's last words when its output is not a document", () => {
        for (const [stdout, expected] of [
            ["", /the collector printed nothing; its last messages: dualstack-check: waiting for the API server \| sh: 1: k3s: not found/],
            ["{ half", /printed something that is not JSON/],
            ['{"schema":"other"}', /is not a dualstack-check\/1 document/],
        ] as const) {
            const r = judgeOutput(stdout, "dualstack-check: waiting for the API server\nsh: 1: k3s: not found\n", K3S, KUBECTL);
            assert.equal(r.result, "failed");
            assert.equal(entry(r, "nodes").status, "failed");
            assert.match(entry(r, "nodes").findings![0].cause, expected);
            assert.ok(r.checks.slice(1).every((c) => c.status === "skipped"));
        }
    });

    it("judges the collector's stdout exactly like the parsed document", () => {
        const doc = recorded();
        assert.deepEqual(judgeOutput(JSON.stringify(doc), "", K3S, KUBECTL), judge(doc, K3S, KUBECTL));
    });

    it("reads AAAA answers of busybox nslookup, not the server's address", () => {
        const table: [string, string[]][] = [
            [fixture("probes.json").dns.result.output, ["fd45:a71:55a6:43::9f21"]],
            [fixture("probes.no-aaaa.json").dns.result.output, []],
            ["Server:\t\tfd45:a71:55a6:43::a\nAddress:\tfd45:a71:55a6:43::a:53\n\nName:\tx.svc.cluster.local\nAddress: FD45:A71:55A6:43:0:0:0:9F21\n", ["fd45:a71:55a6:43::9f21"]],
            ["Server:    10.43.0.10\nAddress 1: 10.43.0.10 kube-dns.kube-system.svc.cluster.local\n\nName:      x\nAddress 1: fd45::1 x.svc.cluster.local\n", ["fd45::1"]],
            ["garbage", []],
        ];
        for (const [out, want] of table) assert.deepEqual(aaaaAnswers(out), want);
    });

    it("the failure message lists every failed finding and the other checks' states", () => {
        const r = judge(recorded({ nodes: "nodes.calico-no-ipv6.json", ipPools: "ippools.no-nat.json" }), K3S, KUBECTL);
        const msg = failureMessage(r);
        assert.match(msg, /^dual-stack check failed on stack lab-k3s \(evidence collected on cp1\): 2 of 7 checks failed\.\n/);
        assert.match(msg, /✗ calico-node: .*\n  - calico-node on cp1 detected no IPv6 address/);
        assert.match(msg, /✗ ipv6-pool: .*\n  - the IPv6 IPPool default-ipv6-ippool has natOutgoing false/);
        assert.match(msg, /Other checks: nodes passed, probe-pods passed, service passed, traefik passed, ipv6-egress skipped\./);
        assert.match(msg, /stack output dualStackReport/);
    });

    it("the test double of a healthy cluster passes for both shipped stacks", () => {
        for (const stack of ["lab-k3s", "lab-k0s"]) {
            const plan = planFor(stack);
            const r = judge(healthyDocument(plan), plan, `${plan.distribution} kubectl`);
            assert.equal(r.result, "passed", JSON.stringify(r.checks.filter((c) => c.status === "failed"), null, 1));
        }
    });

    it("property: any set of nodes losing their IPv6 InternalIP fails exactly those nodes", () => {
        const names = ["cp1", "cp2", "cp3", "w1", "w2", "w3"];
        fc.assert(
            fc.property(
                fc.integer({ min: 1, max: 6 }),
                fc.boolean(),
                fc.boolean(),
                fc.boolean(),
                fc.array(fc.nat(5)),
                (count, v6first, k0s, controllersRunWorkloads, drop) => {
                    // The plan refuses a multi-node k0s stack in which nothing runs pods.
                    fc.pre(!(k0s && !controllersRunWorkloads && count > 1 && count <= 3));
                    const nodes = names.slice(0, count).map((name, i) => ({
                        name,
                        host: `192.168.121.${10 + i}`,
                        role: i === 0 || name.startsWith("cp") ? "control-plane" : "worker",
                        interface: "eth0",
                    }));
                    const pods = ["10.42.0.0/16", "fd45:a71:55a6:4200::/56"];
                    const svcs = ["10.43.0.0/16", "fd45:a71:55a6:43::/112"];
                    const cfg = baseConfig({
                        ...(k0s ? { distribution: "k0s", version: "v1.34.1+k0s.0", traefik: { loadBalancer: "none" }, cluster: { controllersRunWorkloads } } : {}),
                        nodes,
                        network: {
                            nodeIpv6Prefix: "fd45:a71:55a6:1::/64",
                            podCidrs: v6first ? [pods[1], pods[0]] : pods,
                            serviceCidrs: v6first ? [svcs[1], svcs[0]] : svcs,
                        },
                    });
                    const plan = planOf(cfg);
                    const doc = healthyDocument(plan);
                    assert.equal(judge(doc, plan, "k3s kubectl").result, "passed");
                    // A k0s controller without --enable-worker is no Node: it is neither expected nor judged.
                    const kube = new Set(plan.nodes.filter((n) => !(k0s && !controllersRunWorkloads && n.role === "control-plane")).map((n) => n.name));
                    assert.deepEqual(doc.nodes!.json!.items!.map((n) => n.metadata!.name).sort(), [...kube].sort());
                    const lose = new Set(drop.filter((i) => i < count).map((i) => names[i]).filter((n) => kube.has(n)));
                    for (const n of doc.nodes!.json!.items!) {
                        if (lose.has(n.metadata!.name!)) n.status!.addresses = n.status!.addresses!.filter((a) => !a.address!.includes(":"));
                    }
                    const r = judge(doc, plan, "k3s kubectl");
                    const failedNodes = (entry(r, "nodes").findings ?? []).map((f) => /^node (\S+) has no IPv6 InternalIP/.exec(f.message)?.[1]);
                    assert.deepEqual(failedNodes.sort(), [...lose].sort());
                    assert.equal(r.result, lose.size > 0 ? "failed" : "passed");
                },
            ),
            { numRuns: 60 },
        );
    });
});
