// KubeadmCluster on real SSH test hosts (harness.ts): stacks/Pulumi.lab-kubeadm.yaml (1 control
// plane + 2 workers) with the lab's hosts, SSH key and an air-gap folder. kubeadm, the kubelet and
// kubectl cannot run in a lab host (no systemd, no containers), so the air-gap binaries are
// RECORDING TEST DOUBLES (test/lab/doubles/kubeadm/{kubeadm,kubelet,kubectl}) sharing a directory
// that stands in for the API server; containerd, modprobe, swapon and swapoff are host-side TEST
// DOUBLES (doubles/kubeadm/host) installed on each fresh host as its own packages would be. The
// program runs under the mock runtime and the lab executes exactly the strings KubeadmCluster
// registers, over SSH, in dependency order; destroy runs the registered deletes dependents first.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash, createPublicKey, randomBytes, randomInt } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { fillSecrets, KUBEADM_CONFIG_PATH, renderKubeadmConfig } from "../../components/kubeadm/config";
import { CONTAINERD_REGISTRY_DROPIN, registryFiles } from "../../components/kubeadm/registries";
import { CLUSTER_SECRETS_FILE, JOIN_SECRETS_FILE } from "../../components/kubeadm/scripts";
import { loadPlan, Plan } from "../../components/plan";
import { RunResult, runProgram, stackConfig, stringLeaves, unwrapSecrets } from "../support/program";
import { workerBatchesOf } from "../../components/batches";
import { UPGRADE_CORDON_ANNOTATION } from "../../components/kube";
import { destroyRegistered, ExecuteArgs, labExecutor, LabState, runRemote, TimelineEntry } from "./executor";
import { createLab, Lab, LabHost, leftoverNamespaces, requireLabPrerequisites, SYSTEMCTL_DOUBLE_LOG } from "./harness";
import { tempDir } from "../support/tmp";

const STACK = "lab-kubeadm";
const DOUBLES = path.join(__dirname, "doubles", "kubeadm");
const HOST_DOUBLES = path.join(DOUBLES, "host");
/** Where the doubles record (a tmpfs of each lab host; not something real kubeadm writes). */
const REC = "/run/kubeadm-double";
/** Everything kubeadm, the steps or the doubles may touch on a host. After destroy it must be as it was. */
const WATCHED = [
    "/etc/kubernetes",
    "/etc/dualstack",
    "/etc/systemd/system",
    "/etc/cni",
    "/etc/containerd",
    "/etc/modules-load.d",
    "/etc/sysctl.d",
    "/etc/fstab",
    "/var/lib/kubelet",
    "/var/lib/etcd",
    "/var/lib/dualstack",
    "/var/lib/calico",
    "/opt/cni",
    "/usr/local/sbin",
    "/run/systemctl-double/enabled",
    "/run/systemctl-double/active",
    "/run/swap-double",
];
/** KubeadmCluster is `cluster` in index.ts: its remote steps are `cluster-<node>-<step>` and `cluster-kubeconfig`. */
const isKubeadmStep = (r: ExecuteArgs) => /^cluster-[a-z0-9-]+$/.test(r.name) && r.name !== "cluster-k8s";

/** What @pulumi/random would give: kubeadm's token alphabet, and 32 random bytes for the certificate key. */
const alnum = (n: number) => Array.from({ length: n }, () => "abcdefghijklmnopqrstuvwxyz0123456789"[randomInt(36)]).join("");
const TOKEN_ID = alnum(6);
const TOKEN_SECRET = alnum(16);
const TOKEN = `${TOKEN_ID}.${TOKEN_SECRET}`;
const CERT_KEY = randomBytes(32).toString("hex");

/** The shared "API server" of the doubles: under /var/tmp (all hosts see it), named so a crashed run's is cleaned up. */
function apiDir(): string {
    return tempDir(`dslab-${process.pid}-kubeadmapi`, "/var/tmp");
}

/** An air-gap folder as a user would prepare it, holding the doubles for `version`. */
function airgapDir(version: string, api: string): string {
    const dir = tempDir("dualstack-kubeadm-airgap");
    for (const b of ["kubeadm", "kubelet", "kubectl"]) {
        const text = fs.readFileSync(path.join(DOUBLES, b), "utf8").replaceAll("__KUBEADM_DOUBLE_VERSION__", version).replaceAll("__KUBEADM_DOUBLE_API__", api);
        fs.writeFileSync(path.join(dir, b), text, { mode: 0o755 });
    }
    return dir;
}

/**
 * The shipped stack, on the lab's hosts: its nodes (names, roles), networks and settings; lab SSH and
 * air-gap install. `roles` replaces its nodes (name and role, one per lab host, in order).
 */
function labConfig(lab: Lab, airgap: string, roles?: [string, "control-plane" | "worker"][]): Record<string, string> {
    const shipped = stackConfig(STACK);
    const nodes = roles ? roles.map(([name, role]) => ({ name, role })) : (JSON.parse(shipped["dualstack:nodes"]) as Record<string, unknown>[]);
    if (!roles) assert.equal(nodes.length, 3, `${STACK} is 1 control plane + 2 workers`);
    return {
        ...shipped,
        "dualstack:ssh": JSON.stringify({ user: "root", privateKey: lab.privateKey }),
        "dualstack:nodes": JSON.stringify(nodes.map((n, i) => ({ ...n, host: lab.hosts[i].ipv4, interface: lab.hosts[i].iface, hostKey: lab.hosts[i].hostKey }))),
        "dualstack:install": JSON.stringify({ source: "airgap", airgapDir: airgap }),
        "dualstack:checks": JSON.stringify({ enabled: false }),
    };
}

async function must(h: LabHost, command: string): Promise<string> {
    const r = await h.inspect(command);
    assert.equal(r.code, 0, `${h.name}: ${command}: ${r.stderr}`);
    return r.stdout;
}

/** A fresh host as kubeadm's prerequisites expect it: containerd from its packages (enabled, running), kernel tools. */
async function provisionHost(h: LabHost, swap: boolean): Promise<void> {
    await h.writeFile("/usr/local/bin/containerd", fs.readFileSync(path.join(HOST_DOUBLES, "containerd"), "utf8"), 0o755);
    await h.writeFile("/usr/local/bin/ctr", fs.readFileSync(path.join(HOST_DOUBLES, "ctr"), "utf8"), 0o755);
    for (const t of ["modprobe", "swapon", "swapoff"]) await h.writeFile(`/usr/local/sbin/${t}`, fs.readFileSync(path.join(HOST_DOUBLES, t), "utf8"), 0o755);
    await h.writeFile("/etc/systemd/system/containerd.service", "[Unit]\nDescription=containerd (TEST DOUBLE)\n[Service]\nExecStart=/usr/local/bin/containerd\n[Install]\nWantedBy=multi-user.target\n");
    await must(h, "mkdir -p /run/systemctl-double/enabled /run/systemctl-double/active && : > /run/systemctl-double/enabled/containerd.service && : > /run/systemctl-double/active/containerd.service");
    if (swap) await must(h, "echo '/swapfile none swap sw 0 0' >> /etc/fstab && swapon -a && rm -rf /run/kubeadm-double");
}

/** Paths, types and modes under the watched paths, content hashes (in /usr/local only of what the lab adds), and the interfaces. */
async function tree(h: LabHost): Promise<string> {
    return must(
        h,
        `{ for d in ${WATCHED.join(" ")}; do [ -e "$d" ] && find "$d" -printf '%p %y %m\\n' -type f -exec sha256sum {} \\; ; done; ` +
            `find /usr/local/bin -mindepth 1 -printf '%p %y %m %s\\n'; find /usr/local/bin -maxdepth 1 -type f \\( -name 'kube*' -o -name containerd -o -name systemctl \\) -exec sha256sum {} \\; ; ` +
            `ip -o link show | awk -F': ' '{print "link", $2}'; } | sort; true`,
    );
}

/** The next patch release of the plan's version (v1.36.3 -> v1.36.4). */
function nextPatch(plan: Plan): string {
    const { major, minor, patch } = plan.kubernetes;
    return `v${major}.${minor}.${patch + 1}`;
}

interface Call {
    ns: bigint;
    line: string;
}

/** The doubles' call log: `<ns> <program> <argv>`. */
async function calls(h: LabHost): Promise<Call[]> {
    const text = (await h.inspect(`cat ${REC}/calls.log 2>/dev/null || true`)).stdout;
    return text
        .split("\n")
        .filter(Boolean)
        .map((l) => ({ ns: BigInt(l.slice(0, l.indexOf(" "))), line: l.slice(l.indexOf(" ") + 1) }));
}

async function systemctlCalls(h: LabHost): Promise<string[]> {
    return (await h.inspect(`cat ${SYSTEMCTL_DOUBLE_LOG} 2>/dev/null || true`)).stdout.split("\n").filter(Boolean);
}

function entry(t: TimelineEntry[], name: string, phase: TimelineEntry["phase"] = "create"): TimelineEntry {
    const all = t.filter((e) => e.name === name && e.phase === phase);
    assert.equal(all.length, 1, `${phase} of ${name} ran ${all.length} times`);
    assert.ok(all[0].ok, `${phase} of ${name} failed`);
    return all[0];
}

/** The CA hash as kubeadm defines it: SHA-256 of the certificate's DER SubjectPublicKeyInfo. */
function caCertHash(pem: string): string {
    return `sha256:${createHash("sha256").update(createPublicKey(pem).export({ type: "spki", format: "der" })).digest("hex")}`;
}

interface Up {
    result: RunResult;
    timeline: TimelineEntry[];
    executed: string[];
    state: LabState;
}

/**
 * `pulumi up` with KubeadmCluster's remote steps run for real; @pulumi/random gives the pinned token
 * and key. Without `prior` every step is created (a new stack, or the same creates run again);
 * with the state of an earlier run it is an up of that stack: unchanged steps run nothing, changed
 * ones their update (executor.ts).
 */
async function up(lab: Lab, config: Record<string, string>, prior?: LabState): Promise<Up> {
    const ex = labExecutor(lab, { select: isKubeadmStep, prior });
    let failed!: (e: unknown) => void;
    const failure = new Promise<never>((_, reject) => (failed = reject));
    const execute: typeof ex.execute = async (r) => {
        if (r.name === "cluster-token-id") return { result: TOKEN_ID };
        if (r.name === "cluster-token-secret") return { result: TOKEN_SECRET };
        if (r.name === "cluster-certificate-key") return { hex: CERT_KEY };
        return ex.execute(r).catch((e) => {
            failed(e);
            throw e;
        });
    };
    const result = await Promise.race([runProgram({ config, preview: false, execute, stackName: STACK }), failure]);
    await ex.finish();
    return { result, timeline: ex.timeline, executed: ex.executed, state: ex.state };
}

describe("lab: kubeadm cluster from stacks/Pulumi.lab-kubeadm.yaml (air-gapped, recording kubeadm/kubelet/kubectl TEST DOUBLES)", function () {
    this.timeout(300000);
    let lab: Lab;
    let plan: Plan;
    let config: Record<string, string>;
    let first: Up;
    /** The stack destroy tears down: the latest `up` (the registries test leaves its mirrors in it). */
    let last: Up;
    /** The configuration of `last` (with the registries test's mirrors once it ran). */
    let lastConfig: Record<string, string>;
    /** The stack's configuration with the next patch version and its air-gap binaries. */
    let upgradedConfig: Record<string, string>;
    let api: string;
    const fresh = new Map<string, string>();
    /** The running values of the prep's sysctls (the bridge keys only where the kernel has them). */
    const sysctls = (h: LabHost) =>
        must(h, "for f in /proc/sys/net/bridge/bridge-nf-call-iptables /proc/sys/net/bridge/bridge-nf-call-ip6tables /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding; do if [ -r \"$f\" ]; then echo \"$f=$(cat \"$f\")\"; fi; done");
    const freshSysctls = new Map<string, string>();
    const byNode = (name: string) => lab.hosts[plan.nodes.findIndex((n) => n.name === name)];

    before(async function () {
        requireLabPrerequisites();
        // The doubles are scripts too: they must be as portable as what they stand in for.
        const files = [...["kubeadm", "kubelet", "kubectl"].map((b) => path.join(DOUBLES, b)), ...fs.readdirSync(HOST_DOUBLES).map((f) => path.join(HOST_DOUBLES, f))];
        const sc = spawnSync("shellcheck", ["-s", "sh", ...files], { encoding: "utf8" });
        if (sc.error) assert.fail(`shellcheck could not run (${sc.error.message}); install it: apt-get install -y shellcheck`);
        assert.equal(sc.status, 0, sc.stdout);
        lab = await createLab({ hosts: 3, name: "kubeadm" });
        api = apiDir();
        config = labConfig(lab, airgapDir(stackConfig(STACK)["dualstack:version"], api));
        plan = loadPlan((k) => config[k], STACK, Object.keys(config)).plan;
        // worker2's host has swap on (listed in /etc/fstab): preparation turns it off, destroy back on.
        for (const [i, h] of lab.hosts.entries()) await provisionHost(h, i === 2);
        for (const h of lab.hosts) fresh.set(h.name, await tree(h));
        for (const h of lab.hosts) freshSysctls.set(h.name, await sysctls(h));
        first = await up(lab, config);
        last = first;
        lastConfig = config;
    });

    after(async function () {
        if (lab) await lab.destroy();
        if (api) fs.rmSync(api, { recursive: true, force: true });
        assert.deepEqual(leftoverNamespaces(), [], "the lab left network namespaces behind");
    });

    it("prepares every host (modules, sysctls, swap off, containerd's systemd cgroup) and installs the air-gapped binaries", async () => {
        assert.deepEqual(
            plan.nodes.map((n) => [n.name, n.role]),
            [["cp1", "control-plane"], ["worker1", "worker"], ["worker2", "worker"]],
        );
        for (const n of plan.nodes) {
            const h = byNode(n.name);
            assert.equal(await must(h, "cat /etc/modules-load.d/90-dualstack-kubeadm.conf"), "overlay\nbr_netfilter\n");
            assert.ok((await calls(h)).some((c) => c.line === "modprobe br_netfilter"), `${n.name}: br_netfilter not loaded`);
            for (const k of ["net/bridge/bridge-nf-call-iptables", "net/bridge/bridge-nf-call-ip6tables", "net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding"]) {
                assert.equal((await must(h, `cat /proc/sys/${k}`)).trim(), "1", `${n.name}: ${k}`);
            }
            assert.equal((await must(h, "swapon --noheadings")).trim(), "", `${n.name}: swap still on`);
            assert.match(await must(h, "cat /etc/containerd/config.toml"), /SystemdCgroup = true/);
            for (const b of ["kubeadm", "kubelet", "kubectl"]) {
                assert.equal((await must(h, `cmp /usr/local/bin/${b} /var/lib/dualstack/kubeadm-airgap/${b} && stat -c %a /usr/local/bin/${b}`)).trim(), "755");
            }
            assert.equal((await h.inspect("ls /usr/bin/kubeadm /usr/bin/kubelet 2>/dev/null")).stdout, "", `${n.name}: something was installed into /usr/bin`);
            assert.equal((await must(h, "kubeadm version -o short")).trim(), plan.version);
        }
        assert.match(await must(byNode("worker2"), "cat /etc/fstab"), /^#dualstack-kubeadm# \/swapfile none swap sw 0 0$/m);
    });

    it("the rendered configuration reaches each host; kubeadm got it filled, from a root-only temporary file that is gone afterwards", async () => {
        const ca = await must(byNode("cp1"), "cat /etc/kubernetes/pki/ca.crt");
        for (const n of plan.nodes) {
            const h = byNode(n.name);
            const rendered = renderKubeadmConfig(plan, n);
            assert.equal(await must(h, `cat ${KUBEADM_CONFIG_PATH}`), rendered, `${n.name}: kubeadm.yaml is not the rendered one`);
            assert.equal((await must(h, `stat -c '%a %U' ${KUBEADM_CONFIG_PATH} /etc/dualstack/kubeadm`)).trim(), "600 root\n700 root");
            const what = n.role === "control-plane" ? "init" : "join";
            const copies = (await must(h, `ls ${REC}`)).split("\n").filter((f) => f.startsWith(`${what}.`) && f.endsWith(".config"));
            assert.equal(copies.length, 1, `${n.name}: kubeadm ${what} ran ${copies.length} times`);
            const got = await must(h, `cat ${REC}/${copies[0]}`);
            const want = fillSecrets(rendered, n.role === "control-plane" ? { token: TOKEN, certificateKey: CERT_KEY } : { token: TOKEN, caCertHash: caCertHash(ca) });
            assert.equal(got, want, `${n.name}: the configuration kubeadm ${what} was given`);
            const [file, mode, owner, dir] = (await must(h, `cat ${REC}/${copies[0].replace(/\.config$/, ".meta")}`)).trim().split(" ");
            assert.match(file, /^\/etc\/dualstack\/kubeadm\/kubeadm\.[A-Za-z0-9]{6}$/);
            assert.deepEqual([mode, owner, dir], ["600", "root", "dir=700"]);
            assert.equal((await h.inspect(`test -e ${file}`)).code, 1, `${n.name}: the filled temporary config ${file} was left behind`);

            // What the documents say, read back: both families everywhere.
            const docs = parseAllDocuments(got).map((d) => d.toJS());
            const reg = docs.find((d) => d.kind === "InitConfiguration" || d.kind === "JoinConfiguration").nodeRegistration;
            assert.deepEqual(reg.kubeletExtraArgs, [{ name: "node-ip", value: `${n.ipv4},${n.ipv6}` }]);
            assert.equal(reg.name, n.name);
            if (n.role === "control-plane") {
                const cc = docs.find((d) => d.kind === "ClusterConfiguration");
                assert.equal(cc.networking.podSubnet, "10.244.0.0/16,fd5c:2e8a:7b41:100::/56");
                assert.equal(cc.networking.serviceSubnet, "10.96.0.0/16,fd5c:2e8a:7b41:200::/112");
                assert.deepEqual(cc.apiServer.certSANs, [n.ipv4, n.ipv6]);
                assert.equal(docs.find((d) => d.kind === "KubeProxyConfiguration").clusterCIDR, "10.244.0.0/16,fd5c:2e8a:7b41:100::/56");
                assert.ok(!/IPv6DualStack/.test(got));
            }
        }
    });

    it("every kubelet runs with --node-ip of both families (through the unit, kubeadm's drop-in and kubeadm-flags.env) and registers under its node name", async () => {
        for (const n of plan.nodes) {
            const h = byNode(n.name);
            const runs = (await calls(h)).filter((c) => c.line.startsWith("kubelet "));
            assert.equal(runs.length, 1, `${n.name}: the kubelet was started ${runs.length} times`);
            const argv = runs[0].line.split(" ");
            assert.ok(argv.includes(`--node-ip=${n.ipv4},${n.ipv6}`), `${n.name}: ${runs[0].line}`);
            assert.ok(argv.includes(`--hostname-override=${n.name}`), `${n.name}: ${runs[0].line}`);
            assert.ok(argv.includes("--config=/var/lib/kubelet/config.yaml") && argv.includes("--kubeconfig=/etc/kubernetes/kubelet.conf"));
            assert.equal(fs.readFileSync(path.join(api, "nodes", n.name), "utf8").split("\n")[0], `nodeIP=${n.ipv4},${n.ipv6}`);
        }
    });

    it("control plane first, then the workers join concurrently; tokens are created on the control plane", async () => {
        const t = first.timeline;
        const cp = entry(t, "cluster-cp1-install");
        const [w1, w2] = [entry(t, "cluster-worker1-install"), entry(t, "cluster-worker2-install")];
        assert.ok(cp.end <= w1.start && cp.end <= w2.start, "a worker joined before the control plane was up");
        assert.ok(w1.start < w2.end && w2.start < w1.end, `worker joins did not overlap: worker1 ${w1.start}-${w1.end}, worker2 ${w2.start}-${w2.end}`);
        for (const w of ["worker1", "worker2"]) {
            const tok = entry(t, `cluster-${w}-token`);
            assert.equal(tok.host, byNode("cp1").name);
            assert.ok(cp.end <= tok.start && tok.end <= entry(t, `cluster-${w}-install`).start);
            assert.ok(entry(t, `cluster-${w}-joined`).start >= entry(t, `cluster-${w}-install`).end);
        }
        const cpCalls = (await calls(byNode("cp1"))).map((c) => c.line);
        assert.equal(cpCalls.filter((l) => /^kubeadm token create --config \/etc\/dualstack\/kubeadm\/kubeadm\.[A-Za-z0-9]{6}$/.test(l)).length, 2);
        assert.ok(cpCalls.some((l) => /^kubeadm init --config \S+ --upload-certs --skip-token-print --skip-certificate-key-print$/.test(l)));
    });

    it("secrets: the token and certificate key only in root-only files and stdin, never in an argv, environment, process list or command string", async () => {
        for (const n of plan.nodes) {
            const h = byNode(n.name);
            const file = n.role === "control-plane" ? CLUSTER_SECRETS_FILE : JOIN_SECRETS_FILE;
            assert.equal((await must(h, `stat -c '%a %U' ${file}`)).trim(), "600 root");
            assert.ok((await must(h, `cat ${file}`)).includes(`token=${TOKEN}\n`));
            // The double snapshotted every process on the machine while kubeadm ran.
            assert.ok((await must(h, `cat ${REC}/ps.log`)).includes("kubeadm"), `${n.name}: no process list was recorded`);
            const leaks = await h.inspect(`grep -lF -e ${TOKEN_SECRET} -e ${CERT_KEY} ${REC}/calls.log ${REC}/env.log ${REC}/ps.log ${SYSTEMCTL_DOUBLE_LOG}`);
            assert.equal(leaks.code, 1, `${n.name}: a secret is in ${leaks.stdout}`);
        }
        // Pulumi's side: outside stdin, no registered input holds a secret; only the installs and token outputs carry them.
        for (const r of first.result.resources) {
            const { stdin, ...rest } = unwrapSecrets(r.inputs);
            for (const s of [TOKEN_SECRET, CERT_KEY]) {
                assert.ok(!stringLeaves(rest).some((x) => x.includes(s)), `${r.name} carries a secret outside stdin`);
                if (!/^cluster-(cp1|worker1|worker2)-install$/.test(r.name)) assert.ok(!stringLeaves(stdin).some((x) => x.includes(s)), `${r.name} got a secret on stdin`);
            }
        }
    });

    it("the kubeconfig is admin.conf of the control plane, pointing at the planned API URL", async () => {
        const kc = parse(String(first.result.outputs.kubeconfig));
        const onHost = parse(await must(byNode("cp1"), "cat /etc/kubernetes/admin.conf"));
        assert.equal(kc.clusters[0].cluster.server, plan.api.url);
        assert.equal(onHost.clusters[0].cluster.server, `https://${plan.firstControlPlane.ipv4}:6443`);
        kc.clusters[0].cluster.server = onHost.clusters[0].cluster.server;
        assert.deepEqual(kc, onHost);
        assert.equal((await must(byNode("cp1"), "stat -c %a /etc/kubernetes/admin.conf")).trim(), "600");
    });

    it("a second create changes nothing: no file, no restart, no second init or join", async () => {
        const before = await Promise.all(lab.hosts.map(async (h) => [await tree(h), (await systemctlCalls(h)).filter((c) => /^(restart|start) kubelet/.test(c)).length] as const));
        const again = await up(lab, config);
        assert.ok(again.executed.includes("cluster-worker2-install"), "the second create did not run");
        for (const [i, h] of lab.hosts.entries()) {
            assert.equal(await tree(h), before[i][0], `${h.name}: files changed on a second create`);
            assert.equal((await systemctlCalls(h)).filter((c) => /^(restart|start) kubelet/.test(c)).length, before[i][1], `${h.name}: the kubelet was restarted`);
            const kubeadm = (await calls(h)).filter((c) => /^kubeadm (init|join) /.test(c.line));
            assert.equal(kubeadm.length, 1, `${h.name}: kubeadm init/join ran again`);
        }
    });

    it("registry mirrors: a root-only drop-in imported by config.toml and hosts.toml on every node; a change restarts containerd one node at a time, control plane first; the password on no command line; removed exactly", async () => {
        const password = "lab-registry-passw0rd-4f2a";
        const mirror = "[fd5c:2e8a:7b41:1::5]:5000";
        const registries = (endpoint: string) => ({
            mirrors: { "docker.io": { endpoint: [endpoint] } },
            configs: { [mirror]: { auth: { username: "puller", password }, tls: { ca_file: "/etc/ssl/mirror/ca.pem" } } },
        });
        const order = ["cp1", "worker1", "worker2"];
        const restarts = async (n: string) => (await systemctlCalls(byNode(n))).filter((c) => c === "restart containerd").length;
        const withoutRegistries = await Promise.all(order.map(async (n) => [await tree(byNode(n)), await must(byNode(n), "cat /etc/containerd/config.toml")] as const));
        let run!: Up;
        for (const endpoint of [`https://${mirror}`, "https://[fd5c:2e8a:7b41:1::6]:5000"]) {
            const cfg: Record<string, string> = { ...config, "dualstack:registries": JSON.stringify(registries(endpoint)) };
            const files = registryFiles(loadPlan((k) => cfg[k], STACK, Object.keys(cfg)).plan);
            const before = await Promise.all(order.map(restarts));
            run = await up(lab, cfg);
            for (const [i, n] of order.entries()) {
                const h = byNode(n);
                for (const f of files) {
                    assert.equal(await must(h, `cat '${f.path}'`), f.content, `${n}: ${f.path} is not the rendered one`);
                    assert.equal((await must(h, `stat -c '%a %U' '${f.path}'`)).trim(), "600 root", `${n}: ${f.path}`);
                }
                assert.ok((await must(h, `cat ${CONTAINERD_REGISTRY_DROPIN}`)).includes(password));
                assert.match(await must(h, "cat /etc/containerd/config.toml"), new RegExp(`^imports = \\["${CONTAINERD_REGISTRY_DROPIN}"\\]$`, "m"));
                assert.equal(await restarts(n), before[i] + 1, `${n}: containerd not restarted exactly once for the registry change`);
                assert.equal((await h.inspect(`grep -rlF ${password} ${REC} /run/systemctl-double 2>/dev/null || true`)).stdout.trim(), "", `${n}: the password reached a recorded argv, environment or process list`);
            }
            // One node at a time, the control plane first: each step (restart and wait included) ends before the next starts.
            const steps = order.map((n) => entry(run.timeline, `cluster-${n}-registries`));
            for (let i = 1; i < steps.length; i++) assert.ok(steps[i - 1].end <= steps[i].start, `${order[i]} restarted containerd while ${order[i - 1]} was restarting it`);
            // The control plane's step waited for its API after the restart (the cluster runs).
            const during = (c: Call) => c.ns >= BigInt(steps[0].start) * 1000000n && c.ns <= BigInt(steps[0].end + 1) * 1000000n;
            const cpCalls = (await calls(byNode("cp1"))).filter(during).map((c) => c.line);
            assert.ok(cpCalls.includes("ctr version") && cpCalls.includes("kubectl --kubeconfig /etc/kubernetes/admin.conf get --raw /readyz"), cpCalls.join("\n"));
            for (const r of run.result.resources) {
                const { stdin, ...rest } = unwrapSecrets(r.inputs);
                assert.ok(!stringLeaves(rest).some((x) => x.includes(password)), `${r.name} carries the password outside stdin`);
                if (!/^cluster-(cp1|worker1|worker2)-registries$/.test(r.name)) assert.ok(!stringLeaves(stdin).some((x) => x.includes(password)), `${r.name} got the password on stdin`);
            }
        }
        // The same again: nothing changes, nothing restarts.
        const settled = await Promise.all(order.map(async (n) => [await tree(byNode(n)), await restarts(n)] as const));
        await up(lab, { ...config, "dualstack:registries": JSON.stringify(registries("https://[fd5c:2e8a:7b41:1::6]:5000")) });
        for (const [i, n] of order.entries()) assert.deepEqual([await tree(byNode(n)), await restarts(n)], settled[i], `${n}: a second run changed something`);
        // Only the registries leave the stack: the import and the files go, each containerd restarts (and starts: nothing it imports is missing).
        await destroyRegistered(run.result, lab, { only: order.map((n) => `cluster-${n}-registries`), timeline: [] });
        for (const [i, n] of order.entries()) {
            assert.equal(await restarts(n), settled[i][1] + 1, `${n}: containerd not restarted to drop the registries`);
            assert.equal(await must(byNode(n), "cat /etc/containerd/config.toml"), withoutRegistries[i][1], `${n}: config.toml is not back to the byte`);
            assert.equal(await tree(byNode(n)), withoutRegistries[i][0], `${n}: the registries step left something behind`);
        }
        // Back in the stack for the destroy below, which must remove them with everything else.
        lastConfig = { ...config, "dualstack:registries": JSON.stringify(registries(`https://${mirror}`)) };
        last = await up(lab, lastConfig);
        for (const n of order) assert.match(await must(byNode(n), "cat /etc/containerd/config.toml"), /dualstack-registries\.toml/);
    });

    it("a new patch version upgrades in place: upgrade apply on the control plane first, then each worker drained, upgraded and uncordoned, one batch at a time; never a reset or re-join", async () => {
        const v2 = nextPatch(plan);
        const KUBECTL = "kubectl --kubeconfig /etc/kubernetes/admin.conf";
        const cp1 = byNode("cp1");
        const kubeletRestarts = async (h: LabHost) => (await systemctlCalls(h)).filter((c) => c === "restart kubelet").length;
        const seen = new Map<string, number>();
        const restartsBefore = new Map<string, number>();
        for (const h of lab.hosts) {
            seen.set(h.name, (await calls(h)).length);
            restartsBefore.set(h.name, await kubeletRestarts(h));
        }
        /** What the doubles recorded on a node during the upgrade. */
        const newCalls = async (node: string) => (await calls(byNode(node))).slice(seen.get(byNode(node).name));
        upgradedConfig = { ...lastConfig, "dualstack:version": v2, "dualstack:install": JSON.stringify({ source: "airgap", airgapDir: airgapDir(v2, api) }) };
        const run = await up(lab, upgradedConfig, last.state);
        last = run;
        const t = run.timeline;

        // The control plane: its install's update, `kubeadm upgrade apply` with the new kubeadm, before any worker moves.
        const cpUpgrade = entry(t, "cluster-cp1-install", "update");
        const cpCalls = await newCalls("cp1");
        const apply = cpCalls.filter((c) => c.line === `kubeadm upgrade apply ${v2} --yes`);
        assert.equal(apply.length, 1, `cp1: kubeadm upgrade apply ${v2} ran ${apply.length} times`);
        assert.match(await must(cp1, "cat /etc/kubernetes/manifests/kube-apiserver.yaml"), new RegExp(`kubernetesVersion ${v2.replace(/\./g, "\\.")},`));

        // Workers: 2 of them, 10% rounded down is 0, so batches of 1 in join order.
        assert.deepEqual(workerBatchesOf(plan), [["worker1"], ["worker2"]]);
        const steps: Record<string, { drain: TimelineEntry; upgrade: TimelineEntry; uncordon: TimelineEntry }> = {};
        for (const w of ["worker1", "worker2"]) {
            const [drain, upgrade, uncordon] = ["drain", "upgrade", "uncordon"].map((s) => entry(t, `cluster-${w}-${s}`, "update"));
            steps[w] = { drain, upgrade, uncordon };
            assert.deepEqual([drain.host, upgrade.host, uncordon.host], [cp1.name, byNode(w).name, cp1.name], `${w}: a step ran on the wrong host`);
            assert.ok(cpUpgrade.end <= drain.start, `${w} was drained before the control plane was upgraded`);
            assert.ok(drain.end <= upgrade.start && upgrade.end <= uncordon.start, `${w}: drain, upgrade, uncordon overlapped or ran out of order`);
            // Its install records the new version (a replacement must join at it), so it updates:
            // its update only says there is nothing to change in place; nothing is replaced.
            assert.deepEqual(t.filter((e) => e.name === `cluster-${w}-install`).map((e) => e.phase), ["update"], `${w}: its install did more than a no-op update`);

            // What the doubles saw, in order (one clock: the lab hosts are namespaces of one machine).
            const at = (list: Call[], what: string, line: string | RegExp) => {
                const hits = list.filter((c) => (typeof line === "string" ? c.line === line : line.test(c.line)));
                assert.equal(hits.length, 1, `${w}: ${what} ran ${hits.length} times`);
                return hits[0].ns;
            };
            const wCalls = await newCalls(w);
            const annotated = at(cpCalls, "the upgrade annotation", `${KUBECTL} annotate node ${w} ${UPGRADE_CORDON_ANNOTATION}=true --overwrite`);
            const drained = at(cpCalls, "the drain", new RegExp(`^${KUBECTL} drain ${w} --ignore-daemonsets --delete-emptydir-data --force --timeout=\\d+s$`));
            const upgradeNode = at(wCalls, "kubeadm upgrade node", "kubeadm upgrade node");
            const kubeletStarted = at(wCalls, "the kubelet start", /^kubelet (?!--version$)/);
            const uncordoned = at(cpCalls, "the uncordon", `${KUBECTL} uncordon ${w}`);
            const unmarked = at(cpCalls, "the annotation's removal", `${KUBECTL} annotate node ${w} ${UPGRADE_CORDON_ANNOTATION}-`);
            assert.ok(apply[0].ns < annotated && annotated < drained && drained < upgradeNode, `${w}: not drained (with the annotation) after upgrade apply and before kubeadm upgrade node`);
            assert.ok(upgradeNode < kubeletStarted && kubeletStarted < uncordoned && uncordoned < unmarked, `${w}: uncordoned before its new kubelet registered`);
            // The uncordon waited on the version the kubelet reports, read from the API.
            const asked = cpCalls.filter((c) => c.line === `${KUBECTL} get node ${w} -o jsonpath={.status.nodeInfo.kubeletVersion}` && c.ns > kubeletStarted && c.ns < uncordoned);
            assert.ok(asked.length >= 1, `${w}: the uncordon did not read the kubelet's version`);
            assert.equal(await kubeletRestarts(byNode(w)), restartsBefore.get(byNode(w).name)! + 1, `${w}: the kubelet was not restarted exactly once`);
            const node = fs.readFileSync(path.join(api, "nodes", w), "utf8");
            assert.match(node, new RegExp(`^kubeletVersion=${v2.replace(/\./g, "\\.")}$`, "m"), `${w}: the API does not report kubelet ${v2}`);
            assert.ok(!/^unschedulable=true$/m.test(node) && !node.includes(UPGRADE_CORDON_ANNOTATION), `${w}: still cordoned or marked:\n${node}`);
            assert.match(node, /^nodeIP=/, `${w}: the node lost its addresses`);
        }
        // Batches of one: worker2's drain starts only once worker1 is uncordoned.
        assert.ok(steps.worker1.uncordon.end <= steps.worker2.drain.start, "worker2 was drained before worker1 was uncordoned");
        const ms = (e: TimelineEntry) => e.end - e.start;
        console.log(
            `      upgrade ${plan.version} -> ${v2}: ${Math.max(...t.map((e) => e.end)) - Math.min(...t.map((e) => e.start))} ms of steps; cp1 upgrade ${ms(cpUpgrade)} ms; ` +
                ["worker1", "worker2"].map((w) => `${w} drain/upgrade/uncordon ${ms(steps[w].drain)}/${ms(steps[w].upgrade)}/${ms(steps[w].uncordon)} ms`).join("; "),
        );

        for (const h of lab.hosts) {
            assert.equal((await must(h, "kubeadm version -o short")).trim(), v2, h.name);
            assert.equal((await must(h, "kubelet --version")).trim(), `Kubernetes ${v2}`, h.name);
            const all = (await calls(h)).map((c) => c.line);
            assert.ok(!all.some((l) => l.startsWith("kubeadm reset")), `${h.name}: kubeadm reset ran during the upgrade`);
            assert.equal(all.filter((l) => /^kubeadm (init|join) /.test(l)).length, 1, `${h.name}: kubeadm init/join ran again`);
        }
        assert.equal(fs.readFileSync(path.join(api, "version"), "utf8").trim(), v2);
        assert.ok(!t.some((e) => e.phase === "delete"), `an upgrade deleted ${t.filter((e) => e.phase === "delete").map((e) => e.name)}`);
        assert.deepEqual(
            t.filter((e) => e.phase === "create").map((e) => e.name).sort(),
            plan.nodes.flatMap((n) => ["kubeadm", "kubectl", "kubelet"].map((b) => `cluster-${n.name}-${b}`)).sort(),
            "only the air-gap copies (their trigger is the version) are made again",
        );
    });

    it("applying the upgraded stack again runs nothing; the control plane's install update and the workers' upgrade steps run again change nothing (no drain, no restart, no file)", async () => {
        const KUBECTL_MUTATIONS = /^kubectl .* (drain|uncordon|annotate) /;
        const before = await Promise.all(lab.hosts.map(async (h) => ({ tree: await tree(h), calls: (await calls(h)).length, systemctl: (await systemctlCalls(h)).length })));
        const upgraded = last.result.resources;
        const again = await up(lab, upgradedConfig, last.state);
        assert.deepEqual(again.timeline.map((e) => `${e.phase} ${e.name}`), [], "an up with nothing changed ran steps");
        last = again;
        // The same update scripts once more, as an unrelated change of their inputs (a new SSH key) would run them.
        for (const w of ["worker1", "worker2"]) {
            for (const s of ["drain", "upgrade", "uncordon"]) {
                const r = upgraded.find((x) => x.name === `cluster-${w}-${s}`)!;
                const out = await runRemote(lab, r.name, r.inputs, String(unwrapSecrets(r.inputs.update)));
                assert.match(out.stdout, /already runs kubelet|^$/, `${r.name}: ${out.stdout}`);
            }
        }
        // The control plane's install update is its upgrade: at the version it must not upgrade apply
        // again (that would rewrite the static pods and restart the control plane).
        const cp = upgraded.find((x) => x.name === "cluster-cp1-install")!;
        const cpOut = await runRemote(lab, cp.name, cp.inputs, String(unwrapSecrets(cp.inputs.update)));
        assert.ok(cpOut.stdout.includes(`cp1 already runs ${upgradedConfig["dualstack:version"]} (API server and kubelet); nothing to upgrade`), cpOut.stdout);
        for (const [i, h] of lab.hosts.entries()) {
            assert.equal(await tree(h), before[i].tree, `${h.name}: files changed`);
            assert.deepEqual((await systemctlCalls(h)).slice(before[i].systemctl), [], `${h.name}: systemctl was called`);
            const fresh = (await calls(h)).slice(before[i].calls).map((c) => c.line);
            assert.deepEqual(fresh.filter((l) => KUBECTL_MUTATIONS.test(l) || /^kubeadm upgrade/.test(l)), [], `${h.name}: a drain, uncordon, annotation or kubeadm upgrade ran`);
        }
    });

    it("destroy (registries included): drain and delete the workers from the control plane, kubeadm reset the workers then the control plane, every host as it was", async () => {
        // Control: before destroy the hosts carry the cluster and what Calico leaves behind.
        for (const h of lab.hosts) {
            const have = await tree(h);
            for (const want of ["/etc/kubernetes/kubelet.conf", "/etc/cni/net.d/10-calico.conflist", "/var/lib/calico/nodename", "link cali0123456789a", "link vxlan.calico"]) {
                assert.ok(have.includes(want), `${h.name} lacks ${want} before destroy`);
            }
        }
        const deletes: TimelineEntry[] = [];
        await destroyRegistered(last.result, lab, { timeline: deletes });
        // The registries go after the node's reset and before its prep (which removes containerd's config).
        for (const n of ["cp1", "worker1", "worker2"]) {
            const reg = entry(deletes, `cluster-${n}-registries`, "delete");
            assert.ok(entry(deletes, `cluster-${n}-install`, "delete").end <= reg.start && reg.end <= entry(deletes, `cluster-${n}-prep`, "delete").start, `${n}: registries deleted out of order`);
        }
        const cpCalls = await calls(byNode("cp1"));
        for (const w of ["worker1", "worker2"]) {
            const drain = entry(deletes, `cluster-${w}-joined`, "delete");
            assert.equal(drain.host, byNode("cp1").name);
            assert.ok(drain.end <= entry(deletes, `cluster-${w}-install`, "delete").start, `${w} was reset before it was drained`);
            assert.ok(cpCalls.some((c) => c.line.startsWith(`kubectl --kubeconfig /etc/kubernetes/admin.conf drain ${w} --ignore-daemonsets`)), `${w} not drained`);
            assert.ok(cpCalls.some((c) => c.line === `kubectl --kubeconfig /etc/kubernetes/admin.conf delete node ${w} --ignore-not-found`), `${w} not deleted`);
            assert.ok(!fs.existsSync(path.join(api, "nodes", w)), `${w} is still registered`);
        }
        const resetAt = async (n: string) => {
            const r = (await calls(byNode(n))).filter((c) => c.line === "kubeadm reset --force --cri-socket unix:///var/run/containerd/containerd.sock");
            assert.equal(r.length, 1, `${n}: kubeadm reset ran ${r.length} times`);
            return r[0].ns;
        };
        const [cp, w1, w2] = await Promise.all(["cp1", "worker1", "worker2"].map(resetAt));
        assert.ok(w1 < cp && w2 < cp, "the control plane was reset before a worker");
        assert.ok(!fs.existsSync(path.join(api, "up")), "the API stand-in still runs after the control plane's reset");
        for (const h of lab.hosts) assert.equal(await tree(h), fresh.get(h.name), `${h.name}: not back in its first state`);
        for (const h of lab.hosts) assert.equal(await sysctls(h), freshSysctls.get(h.name), `${h.name}: the running sysctls are not back`);
        assert.match((await must(byNode("worker2"), "swapon --noheadings")).trim(), /^\/swapfile /, "worker2's swap was not turned back on");
    });
});

describe("lab: kubeadm with three control planes (recording TEST DOUBLES): a patch upgrade moves the control planes one at a time, then the worker", function () {
    this.timeout(300000);
    let lab: Lab;
    let plan: Plan;
    let api: string;
    let first: Up;
    let upgrade: Up;
    const fresh = new Map<string, string>();
    const ROLES: [string, "control-plane" | "worker"][] = [["cp1", "control-plane"], ["cp2", "control-plane"], ["cp3", "control-plane"], ["worker1", "worker"]];
    const byNode = (name: string) => lab.hosts[plan.nodes.findIndex((n) => n.name === name)];

    before(async function () {
        requireLabPrerequisites();
        lab = await createLab({ hosts: 4, name: "kubeadmha" });
        api = apiDir();
        const config = labConfig(lab, airgapDir(stackConfig(STACK)["dualstack:version"], api), ROLES);
        plan = loadPlan((k) => config[k], STACK, Object.keys(config)).plan;
        for (const h of lab.hosts) await provisionHost(h, false);
        for (const h of lab.hosts) fresh.set(h.name, await tree(h));
        first = await up(lab, config);
        const v2 = nextPatch(plan);
        upgrade = await up(lab, { ...config, "dualstack:version": v2, "dualstack:install": JSON.stringify({ source: "airgap", airgapDir: airgapDir(v2, api) }) }, first.state);
    });

    after(async function () {
        if (lab) await lab.destroy();
        if (api) fs.rmSync(api, { recursive: true, force: true });
        assert.deepEqual(leftoverNamespaces(), [], "the lab left network namespaces behind");
    });

    it("created: the control planes joined one at a time with their own static pods, the worker after them", async () => {
        const t = first.timeline;
        assert.ok(entry(t, "cluster-cp1-install").end <= entry(t, "cluster-cp2-install").start, "cp2 joined before cp1 was up");
        assert.ok(entry(t, "cluster-cp2-install").end <= entry(t, "cluster-cp3-install").start, "cp3 joined while cp2 was joining");
        assert.ok(entry(t, "cluster-cp3-install").end <= entry(t, "cluster-worker1-install").start, "the worker joined before the control planes");
        for (const cp of ["cp2", "cp3"]) {
            assert.ok((await calls(byNode(cp))).some((c) => /^kubeadm join --config \S+$/.test(c.line)), `${cp}: no kubeadm join`);
            assert.ok(fs.existsSync(path.join(api, "controlplanes", cp)), `${cp} is not a control-plane member`);
        }
    });

    it("upgrade apply on cp1, then upgrade node on cp2, then on cp3 (never two at once), then the worker's drain; no reset or re-join", async () => {
        const v2 = nextPatch(plan);
        const t = upgrade.timeline;
        const cps = ["cp1", "cp2", "cp3"].map((n) => entry(t, `cluster-${n}-install`, "update"));
        for (let i = 1; i < cps.length; i++) assert.ok(cps[i - 1].end <= cps[i].start, `${cps[i].name} upgraded while ${cps[i - 1].name} was upgrading`);
        assert.ok(cps[2].end <= entry(t, "cluster-worker1-drain", "update").start, "the worker was drained before the last control plane was upgraded");
        const at = async (node: string, line: string) => {
            const hits = (await calls(byNode(node))).filter((c) => c.line === line);
            assert.equal(hits.length, 1, `${node}: ${line} ran ${hits.length} times`);
            return hits[0].ns;
        };
        const apply = await at("cp1", `kubeadm upgrade apply ${v2} --yes`);
        const [n2, n3, nw] = await Promise.all(["cp2", "cp3", "worker1"].map((n) => at(n, "kubeadm upgrade node")));
        assert.ok(apply < n2 && n2 < n3 && n3 < nw, "kubeadm upgrade ran out of order");
        for (const n of ["cp1", "cp2", "cp3"]) {
            assert.match(await must(byNode(n), "cat /etc/kubernetes/manifests/kube-apiserver.yaml"), new RegExp(`kubernetesVersion ${v2.replace(/\./g, "\\.")},`), `${n}: static pods not upgraded`);
        }
        for (const n of plan.nodes) {
            const h = byNode(n.name);
            assert.equal((await must(h, "kubelet --version")).trim(), `Kubernetes ${v2}`, n.name);
            const all = (await calls(h)).map((c) => c.line);
            assert.ok(!all.some((l) => l.startsWith("kubeadm reset")), `${n.name}: kubeadm reset ran`);
            // `kubeadm init phase upload-certs` (for a joining control plane's token) is not an init.
            assert.equal(all.filter((l) => /^kubeadm (init|join) --config /.test(l)).length, 1, `${n.name}: kubeadm init/join ran again`);
            assert.match(fs.readFileSync(path.join(api, "nodes", n.name), "utf8"), new RegExp(`^kubeletVersion=${v2.replace(/\./g, "\\.")}$`, "m"), `${n.name}: the API does not report kubelet ${v2}`);
        }
        const ms = (e: TimelineEntry) => e.end - e.start;
        console.log(`      3 control planes: upgrade ${cps.map((e) => `${e.name.replace(/^cluster-|-install$/g, "")} ${ms(e)} ms`).join(", ")}`);
    });

    it("destroy: the worker, then the control planes from the last to the first; the API stays up until cp1 goes; every host as it was", async () => {
        const deletes: TimelineEntry[] = [];
        await destroyRegistered(upgrade.result, lab, { timeline: deletes });
        const resets = await Promise.all(
            ["worker1", "cp3", "cp2", "cp1"].map(async (n) => {
                const r = (await calls(byNode(n))).filter((c) => c.line.startsWith("kubeadm reset "));
                assert.equal(r.length, 1, `${n}: kubeadm reset ran ${r.length} times`);
                return r[0].ns;
            }),
        );
        for (let i = 1; i < resets.length; i++) assert.ok(resets[i - 1] < resets[i], "resets out of order (want worker1, cp3, cp2, cp1)");
        assert.ok(!fs.existsSync(path.join(api, "up")), "the API stand-in still runs after the last control plane's reset");
        for (const h of lab.hosts) assert.equal(await tree(h), fresh.get(h.name), `${h.name}: not back in its first state`);
    });
});
