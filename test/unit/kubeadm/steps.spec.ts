// The kubeadm join, upgrade and destroy order, read from the step data alone (no Pulumi): Pulumi
// creates and updates in `after` order and deletes in the reverse, so these edges are the orders.
// Plus the scripts: shellcheck-clean, secrets only through stdin and root-only files.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fillSecrets, renderKubeadmConfig } from "../../../components/kubeadm/config";
import { artifacts } from "../../../components/kubeadm/render";
import { configRemoveScript, fillSecretsLines, prepCreateScript, prepDeleteScript, resetScript, upgradeScript } from "../../../components/kubeadm/scripts";
import { CLUSTER_SECRETS, kubeadmSteps } from "../../../components/kubeadm/steps";
import { ClusterSteps, CommandStep, hostPrepOf, stepById, waitsFor } from "../../../components/steps";
import { baseConfig, ConfigInput, planOf } from "../../support/configs";
import { assertListedAfterWhatItWaitsFor } from "../../support/steps";
import { tempDir } from "../../support/tmp";

const node = (name: string, role: string, i: number) => ({ name, host: `192.168.122.${10 + i}`, role, interface: "eth0" });

function plan(cps: number, workers: number, o: ConfigInput = {}) {
    const nodes = [...Array.from({ length: cps }, (_, i) => node(`cp${i + 1}`, "control-plane", i)), ...Array.from({ length: workers }, (_, i) => node(`worker${i + 1}`, "worker", 50 + i))];
    return planOf(baseConfig({ distribution: "kubeadm", version: "v1.36.3", traefik: { loadBalancer: "none" }, nodes, ...o }));
}
const steps = (cps: number, workers: number, o: ConfigInput = {}): ClusterSteps => kubeadmSteps(plan(cps, workers, o));
const after = (s: ClusterSteps, id: string) => stepById(s, id).after;
/** A command step; every kubeadm step runs something on create ("" fails the matches if not). */
const cmd = (s: ClusterSteps, id: string) => {
    const c = stepById(s, id) as CommandStep;
    return { ...c, create: c.create ?? "" };
};

describe("kubeadm/steps: order as data", () => {
    const s = steps(3, 3);

    it("every step is listed after what it waits for (registration order)", () => {
        for (const shape of [s, steps(1, 0), steps(1, 2, { install: { source: "airgap", airgapDir: "/srv/k8s" } })]) assertListedAfterWhatItWaitsFor(shape);
    });

    it("every node is prepared (after its host preparation) and gets its config before its install", () => {
        for (const n of ["cp1", "cp2", "worker1"]) {
            assert.deepEqual(after(s, `${n}-prep`), [hostPrepOf(n)]);
            assert.ok(after(s, `${n}-install`).includes(`${n}-prep`) && after(s, `${n}-install`).includes(`${n}-config`));
        }
    });

    it("init on the first control plane, with the cluster secrets on stdin; no token step", () => {
        assert.deepEqual(after(s, "cp1-install"), [hostPrepOf("cp1"), "cp1-prep", "cp1-config"]);
        assert.deepEqual(cmd(s, "cp1-install").stdin, { secret: CLUSTER_SECRETS });
        assert.match(cmd(s, "cp1-install").create, /kubeadm init --config "\$filled" --upload-certs/);
        assert.throws(() => stepById(s, "cp1-token"));
    });

    it("control planes join one at a time, each with join secrets made on the first control plane", () => {
        assert.deepEqual(after(s, "cp2-install"), [hostPrepOf("cp2"), "cp1-install", "cp2-prep", "cp2-config", "cp2-token"]);
        assert.deepEqual(after(s, "cp3-install"), [hostPrepOf("cp3"), "cp2-install", "cp3-prep", "cp3-config", "cp3-token"]);
        assert.deepEqual(after(s, "cp3-token"), ["cp1-install", "cp2-install"]);
        const t = cmd(s, "cp3-token");
        assert.equal(t.runsOn, "cp1");
        assert.equal(t.secret, "stdout");
        assert.equal(t.silent, true);
        assert.deepEqual(cmd(s, "cp3-install").stdin, { stdoutOf: "cp3-token" });
        assert.match(t.create, /upload-certs/);
    });

    it("workers join in parallel after the last control plane; none waits for another worker", () => {
        for (const w of ["worker1", "worker2", "worker3"]) {
            assert.deepEqual(after(s, `${w}-install`), [hostPrepOf(w), "cp3-install", `${w}-prep`, `${w}-config`, `${w}-token`]);
            assert.ok(![...waitsFor(s, `${w}-install`)].some((id) => id.startsWith("worker") && !id.startsWith(`${w}-`)));
            assert.doesNotMatch(cmd(s, `${w}-token`).create, /upload-certs/);
        }
    });

    it("upgrade: same edges; upgrade apply on the first control plane, upgrade node on the others one at a time, kubelet after kubeadm upgrade; workers through their upgrade steps", () => {
        const up = steps(3, 3, { version: "v1.36.4" });
        assert.deepEqual(up.steps.map((x) => [x.id, x.after]), s.steps.map((x) => [x.id, x.after]));
        // Create-only settings do not change with the version: an update, not a replacement.
        assert.deepEqual(up.steps.map((x) => (x.kind === "command" ? x.triggers : [])), s.steps.map((x) => (x.kind === "command" ? x.triggers : [])));
        const first = cmd(up, "cp1-install").update!;
        assert.match(first, /kubeadm upgrade apply v1\.36\.4 --yes/);
        for (const id of ["cp2-install", "cp3-install", "worker1-upgrade"]) {
            const u = cmd(up, id).update!;
            assert.match(u, /kubeadm upgrade node/);
            assert.ok(u.indexOf("kubeadm upgrade node") < u.indexOf('"kubelet=$pv"'), `${id}: kubelet after kubeadm upgrade`);
            assert.ok(u.indexOf("kubeadm upgrade node") < u.indexOf("systemctl restart kubelet"));
        }
        assert.ok(waitsFor(up, "cp3-install").has("cp2-install") && waitsFor(up, "worker2-install").has("cp3-install"));
        // A worker's install keeps the version it joined with: its update neither upgrades nor names the version.
        for (const w of ["worker1", "worker2", "worker3"]) {
            const install = cmd(up, `${w}-install`);
            assert.deepEqual(install.ignoreChanges, ["stdin"]);
            assert.match(install.create, /v1\.36\.4/, `${w}: a replacement joins at the pinned version`);
            assert.equal(install.update, cmd(s, `${w}-install`).update, `${w}: the install's update does not change with the version`);
            assert.doesNotMatch(install.update!, /kubeadm upgrade|v1\.36/);
            // Its upgrade step: nothing when the kubelet already runs the version, after the drain, then the uncordon.
            const u = cmd(up, `${w}-upgrade`);
            assert.equal(u.runsOn, w);
            assert.equal(u.create, "", "no create: a first up runs nothing for it");
            assert.match(u.update!, /"\$\(kubelet --version 2>\/dev\/null \|\| true\)" = 'Kubernetes v1\.36\.4'/);
            assert.ok(u.after.includes(`${w}-drain`) && u.after.includes(`${w}-prep`));
            assert.equal(cmd(up, `${w}-drain`).runsOn, "cp1");
            assert.ok(waitsFor(up, `${w}-drain`).has("cp3-install") && waitsFor(up, `${w}-drain`).has(`${w}-joined`));
            assert.deepEqual(cmd(up, `${w}-uncordon`).after, [`${w}-upgrade`]);
            assert.match(cmd(up, `${w}-uncordon`).update!, /want='?v1\.36\.4'?/);
        }
        assert.deepEqual(up.upgraded, ["worker3-uncordon"], "3 workers: batches of 1 (10%, at least 1), the last batch's uncordon");
        // A minor bump moves the package repository in the prep step.
        assert.match(cmd(steps(1, 1, { version: "v1.35.4" }), "cp1-prep").create, /core:\/stable:\/v1\.35\//);
    });

    it("removal: a joined step per node on the first control plane whose delete drains and deletes (the shared drain-and-delete); the first's has none", () => {
        for (const n of ["cp1", "cp2", "worker1"]) {
            const j = cmd(s, `${n}-joined`);
            assert.equal(j.runsOn, "cp1");
            assert.deepEqual(j.after, [`${n}-install`, "cp1-install"]);
            assert.equal(j.delete === undefined, n === "cp1");
            if (j.delete) assert.match(j.delete, /drain "\$node" --ignore-daemonsets .*--timeout=120s/);
        }
        // Destroy runs dependents first: the joined step (drain) before the node's reset.
        assert.ok(waitsFor(s, "worker1-joined").has("worker1-install"));
    });

    it("destroy: kubeadm reset, then iptables/ip6tables, ipvs, CNI files, /etc/kubernetes, the kubelet's directory", () => {
        const r = resetScript(plan(1, 1), plan(1, 1).workers[0]);
        for (const want of ["kubeadm reset --force", "iptables ip6tables", "KUBE-", "ipvsadm --clear", "kube-ipvs0", "/etc/cni/net.d/*", "/etc/kubernetes", "/var/lib/kubelet", "vxlan.calico"]) assert.ok(r.includes(want), `reset lacks ${want}`);
        assert.ok(r.indexOf("kubeadm reset") < r.indexOf("rm -rf /etc/cni/net.d/*"));
        for (const id of ["cp1-install", "worker1-install", "cp1-prep", "worker1-prep", "cp1-config"]) assert.equal(cmd(s, id).deleteBeforeReplace, true);
    });

    it("kubeconfig: read on the first control plane after init, secret and not logged", () => {
        const k = cmd(s, "kubeconfig");
        assert.deepEqual([k.runsOn, k.after, k.secret, k.silent], ["cp1", ["cp1-install"], "stdout", true]);
        assert.deepEqual(s.apiReady, ["cp1-install"]);
    });

    it("air-gap: stage, copy kubeadm/kubelet/kubectl, then install", () => {
        const a = steps(1, 1, { install: { source: "airgap", airgapDir: "/srv/k8s" } });
        for (const b of ["kubeadm", "kubelet", "kubectl"]) {
            const c = stepById(a, `worker1-${b}`);
            assert.equal(c.kind, "copy");
            assert.ok(after(a, "worker1-install").includes(`worker1-${b}`));
        }
    });
});

describe("kubeadm/scripts", () => {
    const p = plan(2, 2, { cluster: { kubeProxyMode: "ipvs" } });

    it("host prep: swap off, overlay/br_netfilter (+ ip_vs* with ipvs), both bridge sysctls and forwarding, containerd by family, the pinned minor's repository; all undone", () => {
        const c = prepCreateScript(p, p.nodes[0]);
        for (const want of ["swapoff -a", "overlay", "br_netfilter", "ip_vs", "ip_vs_rr", "net.bridge.bridge-nf-call-iptables = 1", "net.bridge.bridge-nf-call-ip6tables = 1", "net.ipv6.conf.all.forwarding = 1", "apt-get install -y -q containerd", "dnf install -y containerd", "SystemdCgroup = true", "https://pkgs.k8s.io/core:/stable:/v1.36/deb/", "/etc/modules-load.d/", "containerd 2.0"]) {
            assert.ok(c.includes(want), `prep lacks ${want}`);
        }
        assert.ok(!prepCreateScript(plan(1, 1), plan(1, 1).nodes[0]).includes("ip_vs"));
        const d = prepDeleteScript();
        for (const want of ["/etc/modules-load.d/90-dualstack-kubeadm.conf", "/etc/sysctl.d/91-dualstack-kubeadm.conf", "kubernetes.list", "swapon -a", "/etc/fstab"]) assert.ok(d.includes(want), `prep delete lacks ${want}`);
    });

    it("shellcheck -s sh passes on every rendered script (script and air-gap installs, HA, ipvs)", () => {
        const which = spawnSync("sh", ["-c", "command -v shellcheck"]);
        assert.equal(which.status, 0, "shellcheck is required for this test (apt-get install shellcheck)");
        const dir = tempDir("dualstack-kubeadm-sc");
        const contents = new Set<string>();
        for (const pl of [p, plan(3, 2, { install: { source: "airgap", airgapDir: "/srv/k8s" } }), plan(1, 0)]) {
            for (const a of artifacts(pl).filter((x) => x.path.endsWith(".sh"))) contents.add(a.content);
        }
        const files = [...contents].map((c, i) => {
            const f = path.join(dir, `${i}.sh`);
            fs.writeFileSync(f, c);
            return f;
        });
        const r = spawnSync("shellcheck", ["-s", "sh", "-e", "SC1001", ...files], { encoding: "utf8" });
        fs.rmSync(dir, { recursive: true, force: true });
        assert.equal(r.status, 0, r.stdout + r.stderr);
        for (const c of contents) assert.ok(c.startsWith("set -eu\n"));
    });

    it("secrets: no script names a token or key value; they come from stdin into root-only files", () => {
        const s = kubeadmSteps(p);
        for (const step of s.steps) {
            if (step.kind !== "command") continue;
            for (const text of [step.create ?? "", step.update ?? "", step.delete ?? ""]) assert.doesNotMatch(text, /[a-z0-9]{6}\.[a-z0-9]{16}/);
        }
        const init = cmd(s, "cp1-install").create;
        assert.match(init, /umask 077 && cat > \/etc\/dualstack\/kubeadm\/cluster-secrets/);
        assert.match(cmd(s, "worker1-install").create, /umask 077 && cat > \/etc\/dualstack\/kubeadm\/join-secrets/);
        assert.equal(cmd(s, "worker1-install").secret, "stdin");
        assert.deepEqual(cmd(s, "cp2-install").ignoreChanges, ["stdin"]);
        assert.deepEqual(cmd(s, "worker1-install").ignoreChanges, ["stdin"]);
    });

    it("the on-host fill (awk from a root-only file) gives exactly what fillSecrets gives, and refuses a missing value", () => {
        const dir = tempDir("dualstack-kubeadm-fill");
        const secrets = path.join(dir, "secrets");
        const config = path.join(dir, "kubeadm.yaml");
        const values = { token: "abcdef.0123456789abcdef", caCertHash: `sha256:${"c".repeat(64)}`, certificateKey: "d".repeat(64) };
        fs.writeFileSync(config, renderKubeadmConfig(p, p.nodes[1]));
        const lines = fillSecretsLines(secrets, config, dir);
        const run = (body: string) => spawnSync("sh", ["-c", ["set -eu", ...lines, body].join("\n")], { encoding: "utf8" });
        fs.writeFileSync(secrets, Object.entries(values).map(([k, v]) => `${k}=${v}\n`).join(""));
        const ok = run('cat "$filled"; ls -l "$filled" | cut -c1-10 >&2');
        assert.equal(ok.status, 0, ok.stderr);
        assert.equal(ok.stdout, fillSecrets(renderKubeadmConfig(p, p.nodes[1]), values));
        assert.equal(ok.stderr.trim(), "-rw-------");
        fs.writeFileSync(secrets, `token=${values.token}\n`);
        const missing = run('echo unreachable');
        assert.notEqual(missing.status, 0);
        assert.match(missing.stderr, /lacks a value/);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("air-gap binaries go to /usr/local/bin (upstream's no-package-manager layout); nothing writes or removes /usr/bin, which the OS packages own", () => {
        // Found by the kubeadm lab: with /usr/bin, reset deleted a package-owned /usr/bin/kubectl.
        const a = plan(1, 1, { install: { source: "airgap", airgapDir: "/srv/k8s" } });
        const s = kubeadmSteps(a);
        const texts = s.steps.flatMap((st) => (st.kind === "command" ? [st.create ?? "", st.update ?? "", st.delete ?? ""] : []));
        for (const t of texts) assert.doesNotMatch(t, /\/usr\/bin\//, "a kubeadm script touches /usr/bin");
        assert.match(cmd(s, "worker1-install").create, /install -m 0755 \/var\/lib\/dualstack\/kubeadm-airgap\/"\$b" \/usr\/local\/bin\/"\$b\.dualstack-new"/);
        assert.match(cmd(s, "worker1-install").create, /ExecStart=\/usr\/local\/bin\/kubelet \$KUBELET_KUBECONFIG_ARGS/);
        assert.match(cmd(s, "worker1-install").delete!, /rm -f \/usr\/local\/bin\/kubeadm \/usr\/local\/bin\/kubelet \/usr\/local\/bin\/kubectl /);
    });

    it("destroy leaves no empty directory dualstack or the cluster made: /etc/containerd only if prep made it, the CNI directories, /etc/dualstack; kube-proxy's nftables tables go too", () => {
        // Found by the kubeadm lab (hosts back in their first state).
        const d = prepDeleteScript();
        assert.match(d, /written\) rm -f \/etc\/containerd\/config\.toml ;;/);
        assert.match(d, /written-dir\) rm -f \/etc\/containerd\/config\.toml; rmdir \/etc\/containerd 2>\/dev\/null \|\| true ;;/);
        assert.match(prepCreateScript(p, p.nodes[0]), /then v=kept; elif \[ -d \/etc\/containerd \]; then v=written; else v=written-dir; fi/);
        const r = resetScript(p, p.nodes[2]);
        assert.ok(r.indexOf("rm -rf /etc/cni/net.d/*") < r.indexOf("rmdir /etc/cni/net.d /etc/cni /opt/cni/bin /opt/cni 2>/dev/null || true"));
        assert.match(r, /for family in ip ip6; do nft delete table "\$family" kube-proxy 2>\/dev\/null \|\| true; done/);
        assert.match(configRemoveScript(), /^rmdir \/etc\/dualstack\/kubeadm \/etc\/dualstack 2>\/dev\/null \|\| true$/m);
    });

    it("upgrade installs kubeadm before `kubeadm upgrade`, then kubelet and kubectl", () => {
        const u = upgradeScript(p, p.nodes[0]);
        assert.ok(u.indexOf('"kubeadm=$pv"') < u.indexOf("kubeadm upgrade apply"));
        assert.ok(u.indexOf("kubeadm upgrade apply") < u.lastIndexOf('"kubelet=$pv"'));
    });
});
