// dualstack:cluster.registrationAddress: rules, the API endpoint, k3s/k0s config and the kubeconfig output.
import * as assert from "node:assert/strict";
import { profileOf } from "../../components/distributions";
import { k3sConfig } from "../../components/k3s/config";
import { k0sConfig, createOnlySettings as k0sCreateOnly } from "../../components/k0s/k0sconfig";
import { kubeadmDocuments, fillSecrets, renderKubeadmConfig, createOnlySettings as kubeadmCreateOnly } from "../../components/kubeadm/config";
import { apiEndpoint, registrationFindings } from "../../components/registration";
import { itWithKubeadm, kubeadmValidate } from "../support/kubeadm";
import { baseConfig, planOf, rawConfig } from "../support/configs";
import { runProgram } from "../support/program";
import { nodes, k0s, errorsOf } from "../support/daytwo";

describe("registration address", () => {
    const ctx = { primaryFamily: "IPv4" as const, clusterCidrs: ["10.42.0.0/16", "10.43.0.0/16", "fd00:42::/56"] };
    const cases: [string, string, "k3s" | "k0s", RegExp | undefined, RegExp | undefined][] = [
        ["IPv4 VIP", "192.168.121.100", "k3s", undefined, undefined],
        ["IPv6 VIP on k3s", "fd45:a71:55a6:1::100", "k3s", undefined, undefined],
        ["DNS name", "api.example.com", "k3s", undefined, undefined],
        ["IPv6 VIP on k0s with IPv4 primary", "fd45:a71:55a6:1::100", "k0s", /k0s#5841/, undefined],
        ["DNS name on k0s", "api.example.com", "k0s", undefined, /k0s#5841/],
        ["brackets", "[fd45::100]", "k3s", /bare address/, undefined],
        ["URL", "https://api.example.com:6443", "k3s", /bare address/, undefined],
        ["loopback", "127.0.0.1", "k3s", /loopback/, undefined],
        ["link-local", "fe80::1", "k3s", /link-local/, undefined],
        ["inside the service CIDR", "10.43.0.50", "k3s", /cluster network/, undefined],
        ["garbage", "not a host!", "k3s", /neither/, undefined],
    ];
    for (const [what, address, distribution, error, warning] of cases) {
        it(`${what}: ${address} on ${distribution}`, () => {
            const f = registrationFindings(address, { ...ctx, profile: profileOf(distribution).dayTwo.registrationAddress });
            if (error) assert.ok(f.errors.some((e) => error.test(e.rule)), JSON.stringify(f.errors));
            else assert.deepEqual(f.errors, []);
            if (warning) assert.ok(f.warnings.some((w) => warning.test(w.rule)));
        });
    }

    it("the fix for a bracketed or URL form names the bare address (an IPv6 literal keeps its last group)", () => {
        const fix = (a: string) => registrationFindings(a, { ...ctx, profile: profileOf("k3s").dayTwo.registrationAddress }).errors[0].fix;
        assert.equal(fix("[fd00::1]:6443"), "write e.g. fd00::1");
        assert.equal(fix("[fd45::100]"), "write e.g. fd45::100");
        assert.equal(fix("https://api.example.com:6443"), "write e.g. api.example.com");
        assert.equal(fix("api.example.com:6443"), "write e.g. api.example.com");
    });

    it("endpoint: SANs gain it, kubeconfig and agents use it (IPv6 in brackets), servers join the first server", () => {
        const e = apiEndpoint("192.168.121.11", 6443, ["192.168.121.11"], "fd45:a71:55a6:1:0::100");
        assert.equal(e.url, "https://[fd45:a71:55a6:1::100]:6443");
        assert.equal(e.bootstrapUrl, "https://192.168.121.11:6443");
        assert.deepEqual(e.sans, ["192.168.121.11", "fd45:a71:55a6:1::100"]);
        assert.equal(apiEndpoint("192.168.121.11", 6443, ["192.168.121.11"]).bootstrapUrl, undefined);
    });

    it("k3s config: tls-san on every server, agents join the address, servers the first server", () => {
        const plan = planOf(baseConfig({ nodes: nodes(3, 1), cluster: { registrationAddress: "api.example.com" } }));
        for (const n of plan.nodes) {
            const c = k3sConfig(plan, n);
            if (n.role === "control-plane") assert.ok((c["tls-san"] as string[]).includes("api.example.com"));
            if (n.name === "cp1") assert.equal(c.server, undefined);
            else assert.equal(c.server, n.role === "worker" ? "https://api.example.com:6443" : "https://192.168.121.11:6443");
        }
        assert.equal(plan.api.url, "https://api.example.com:6443");
    });

    it("k0s config: externalAddress + sans; a change replaces the nodes (their tokens named the old one)", () => {
        const plan = planOf(k0s({ nodes: nodes(1, 1), cluster: { registrationAddress: "192.168.121.100" } }));
        const api = (k0sConfig(plan, plan.controlPlanes[0]).spec as any).api;
        assert.equal(api.externalAddress, "192.168.121.100");
        assert.ok(api.sans.includes("192.168.121.100"));
        assert.ok(k0sCreateOnly(plan, plan.workers[0]).includes("registrationAddress=192.168.121.100"));
        assert.ok(errorsOf(k0s({ cluster: { registrationAddress: "fd45:a71:55a6:1::100" } })).some((e) => e.key === "dualstack:cluster.registrationAddress"));
    });

    it("the kubeconfig output points at the registration address", async () => {
        const r = await runProgram({ config: rawConfig(baseConfig({ cluster: { registrationAddress: "fd45:a71:55a6:1::100" } })), stackName: "reg", preview: false });
        assert.equal(r.outputs.apiServer, "https://[fd45:a71:55a6:1::100]:6443");
    });

    describe("kubeadm: controlPlaneEndpoint", () => {
        const kubeadm = (address: string) => planOf(baseConfig({ distribution: "kubeadm", version: "v1.36.3", traefik: { loadBalancer: "none" }, nodes: nodes(3, 2), cluster: { registrationAddress: address } }));
        const byKind = (docs: Record<string, unknown>[], kind: string) => docs.find((d) => d.kind === kind) as any;
        for (const [address, endpoint] of [
            ["api.example.com", "api.example.com:6443"],
            ["192.168.121.100", "192.168.121.100:6443"],
            ["fd45:a71:55a6:1:0::100", "[fd45:a71:55a6:1::100]:6443"],
        ]) {
            it(`${address}: the endpoint (IPv6 bracketed, canonical), in certSANs, the join address of control planes and workers, the kubeconfig server`, () => {
                const plan = kubeadm(address);
                const first = kubeadmDocuments(plan, plan.firstControlPlane);
                assert.equal(byKind(first, "ClusterConfiguration").controlPlaneEndpoint, endpoint);
                assert.ok(byKind(first, "ClusterConfiguration").apiServer.certSANs.includes(plan.api.registrationAddress));
                for (const n of plan.nodes.slice(1)) assert.equal(byKind(kubeadmDocuments(plan, n), "JoinConfiguration").discovery.bootstrapToken.apiServerEndpoint, endpoint, n.name);
                assert.equal(plan.api.url, `https://${endpoint}`);
                // kubeadm cannot move the endpoint of a running cluster: a change replaces the nodes.
                assert.notDeepEqual(kubeadmCreateOnly(plan, plan.workers[0]), kubeadmCreateOnly(kubeadm("api2.example.com"), plan.workers[0]));
            });
        }
        it("either family and a DNS name are accepted (the kubernetes Service's endpoints are the advertise addresses, not this one)", () => {
            for (const address of ["api.example.com", "fd45:a71:55a6:1::100", "192.168.121.100"]) assert.deepEqual(errorsOf(baseConfig({ distribution: "kubeadm", version: "v1.36.3", cluster: { registrationAddress: address } })), []);
        });
        itWithKubeadm("the real kubeadm validates every node's documents with a DNS name, an IPv4 and an IPv6 registration address", (bin) => {
            const FAKE = { token: "abcdef.0123456789abcdef", caCertHash: `sha256:${"a".repeat(64)}`, certificateKey: "b".repeat(64) };
            for (const address of ["api.example.com", "192.168.121.100", "fd45:a71:55a6:1::100"]) {
                const plan = kubeadm(address);
                for (const n of plan.nodes) {
                    const r = kubeadmValidate(bin, fillSecrets(renderKubeadmConfig(plan, n), FAKE));
                    assert.equal(r.status, 0, `${address} ${n.name}:\n${r.output}`);
                }
            }
        });
        it("the kubeconfig output points at the registration address", async () => {
            const r = await runProgram({ config: rawConfig(baseConfig({ distribution: "kubeadm", version: "v1.36.3", traefik: { loadBalancer: "none" }, cluster: { registrationAddress: "fd45:a71:55a6:1::100" } })), stackName: "reg-kubeadm", preview: false });
            assert.equal(r.outputs.apiServer, "https://[fd45:a71:55a6:1::100]:6443");
        });
    });
});
