// dualstack:cluster.registrationAddress: rules, the API endpoint, k3s/k0s config and the kubeconfig output.
import * as assert from "node:assert/strict";
import { profileOf } from "../../components/distributions";
import { k3sConfig } from "../../components/k3s/config";
import { k0sConfig, createOnlySettings as k0sCreateOnly } from "../../components/k0s/k0sconfig";
import { apiEndpoint, registrationFindings } from "../../components/registration";
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
});
