// K3sCluster on real SSH test hosts (harness.ts), air-gapped. k3s itself cannot run in a lab host
// (no systemd, no network), so the staged install script and `k3s` binary are RECORDING TEST
// DOUBLES (test/lab/doubles/k3s/install.sh and k3s): they record their argv, environment and the
// config file they find under /run/k3s-double, and write what real k3s writes (k3s.yaml, node-token,
// the uninstall scripts, which record their runs). The program runs under the mock runtime and the
// lab executes exactly the create/delete strings K3sCluster registers, over SSH, in dependency order.
import * as assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import * as path from "node:path";
import { parse } from "yaml";
import { renderK3sConfig } from "../../components/k3s/config";
import { K3S_PATHS } from "../../components/k3s/scripts";
import { loadPlan, Plan } from "../../components/plan";
import { rawConfig } from "../support/configs";
import { runProgram, RunResult, unwrapSecrets } from "../support/program";
import { k3sAirgapDir as airgapDir, K3S_DOUBLES, K3S_IMAGES } from "./doubles";
import { requireShellcheck, shellcheck } from "../support/shellcheck";
import { destroyRegistered, ExecuteArgs, labExecutor, LabState, TimelineEntry } from "./executor";
import { createLab, Lab, LabHost, leftoverNamespaces, requireLabPrerequisites, SYSTEMCTL_DOUBLE_LOG } from "./harness";

/** The recording TEST DOUBLES standing in for k3s's install.sh and the k3s binary. */
const DOUBLES = K3S_DOUBLES;
/** Where the doubles record (a tmpfs of each lab host; not something real k3s writes). */
const DOUBLE_RECORDS = "/run/k3s-double";
const V1 = "v1.33.5+k3s1";
const V2 = "v1.34.1+k3s1";
// A pinned token (config `dualstack:token`, secret) so the test can search for it everywhere.
const TOKEN = `labk3stoken${randomBytes(20).toString("hex")}`;
const IMAGES = K3S_IMAGES;
/** Everything k3s, Calico or our steps may touch on a host (with BIN below). After destroy it must be as it was. */
const WATCHED = [
    "/etc/rancher",
    "/etc/dualstack",
    "/etc/systemd/system",
    "/etc/cni",
    "/var/lib/rancher",
    "/var/lib/dualstack",
    "/var/lib/kubelet",
    "/run/k3s",
];
/** Listed with sizes, hashed only where k3s writes (the machine's lower layer holds large binaries). */
const BIN = "/usr/local/bin";
/** The systemctl double's unit flags (its own directories appear on first use; their content counts). */
const SYSTEMCTL_STATE = ["/run/systemctl-double/enabled", "/run/systemctl-double/active"];
/** K3sCluster's children are named `cluster-...` (the component is `cluster` in index.ts). */
const isK3sStep = (r: ExecuteArgs) => r.name.startsWith("cluster-");

interface Cfg {
    hosts: LabHost[];
    servers: number;
    version: string;
    airgap: string;
    v6First?: boolean;
    labels?: Record<string, Record<string, string>>;
}

function labConfig(lab: Lab, c: Cfg): Record<string, string> {
    return rawConfig({
        distribution: "k3s",
        version: c.version,
        token: TOKEN,
        ssh: { user: "root", privateKey: lab.privateKey },
        nodes: c.hosts.map((h, i) => ({
            name: h.name,
            host: h.ipv4,
            role: i < c.servers ? "control-plane" : "worker",
            interface: h.iface,
            hostKey: h.hostKey,
            labels: c.labels?.[h.name] ?? {},
        })),
        network: c.v6First
            ? { nodeIpv6Prefix: "fd5e:1ab:7c2d:1::/64", podCidrs: ["fd5e:1ab:7c2d:4200::/56", "10.42.0.0/16"], serviceCidrs: ["fd5e:1ab:7c2d:43::/112", "10.43.0.0/16"] }
            : { nodeIpv6Prefix: "fd5e:1ab:7c2d:1::/64", podCidrs: ["10.42.0.0/16", "fd5e:1ab:7c2d:4200::/56"], serviceCidrs: ["10.43.0.0/16", "fd5e:1ab:7c2d:43::/112"] },
        install: { source: "airgap", airgapDir: c.airgap },
        checks: { enabled: false },
    });
}

function planOf(config: Record<string, string>): Plan {
    return loadPlan((k) => config[k], "lab", Object.keys(config)).plan;
}

interface Up {
    result: RunResult;
    executed: string[];
    timeline: TimelineEntry[];
    state: LabState;
}

/**
 * `pulumi up` with K3sCluster's remote steps executed for real on the lab hosts: every step created,
 * or, given the state of an earlier run, an up of that stack (unchanged steps run nothing, changed
 * ones their update; executor.ts).
 */
async function up(lab: Lab, config: Record<string, string>, prior?: LabState): Promise<Up> {
    const ex = labExecutor(lab, { select: isK3sStep, prior });
    const result = await runProgram({ config, preview: false, execute: ex.execute, stackName: "lab" });
    await ex.finish();
    return { result, executed: ex.executed, timeline: ex.timeline, state: ex.state };
}

async function must(h: LabHost, command: string): Promise<string> {
    const r = await h.inspect(command);
    assert.equal(r.code, 0, `${h.name}: ${command}: ${r.stderr}`);
    return r.stdout;
}

/** Paths, types and modes under the watched directories, and the content hash of every file. */
async function tree(h: LabHost): Promise<string> {
    return must(
        h,
        `{ for d in ${WATCHED.join(" ")}; do [ -e "$d" ] && find "$d" -printf '%p %y %m\\n' -type f -exec sha256sum {} \\; ; done; ` +
            `for d in ${SYSTEMCTL_STATE.join(" ")}; do [ -e "$d" ] && find "$d" -mindepth 1 -printf '%p %y\\n'; done; ` +
            `find ${BIN} -mindepth 1 -printf '%p %y %m %s\\n'; find ${BIN} -maxdepth 1 -type f \\( -name 'k3s*' -o -name kubectl -o -name crictl -o -name ctr \\) -exec sha256sum {} \\; ; } | sort; true`,
    );
}

/** The doubles' call log: `<ns> <what> <args>` lines. */
async function calls(h: LabHost): Promise<{ at: number; line: string }[]> {
    const text = (await h.inspect(`cat ${DOUBLE_RECORDS}/calls.log 2>/dev/null || true`)).stdout;
    return text
        .split("\n")
        .filter(Boolean)
        .map((line) => ({ at: Number(line.split(" ")[0]) / 1e6, line }));
}

async function restarts(h: LabHost): Promise<number> {
    const log = (await h.inspect(`cat ${SYSTEMCTL_DOUBLE_LOG} 2>/dev/null || true`)).stdout;
    return log.split("\n").filter((l) => /^restart k3s(-agent)?$/.test(l)).length;
}

function entry(t: TimelineEntry[], name: string, phase: TimelineEntry["phase"] = "create"): TimelineEntry {
    const all = t.filter((e) => e.name === name && e.phase === phase);
    assert.equal(all.length, 1, `${phase} of ${name} ran ${all.length} times`);
    assert.ok(all[0].ok, `${phase} of ${name} failed`);
    return all[0];
}

describe("lab: k3s cluster over SSH (air-gapped, with recording k3s TEST DOUBLES)", function () {
    this.timeout(120000);
    let lab: Lab;
    const fresh = new Map<string, string>();
    let last: Up;
    const v1 = airgapDir(V1);

    before(async function () {
        requireLabPrerequisites();
        lab = await createLab({ hosts: 5, name: "k3s" });
        for (const h of lab.hosts) fresh.set(h.name, await tree(h));
    });

    it("the install script and k3s doubles pass shellcheck -s sh (as portable as what they stand in for)", function () {
        requireShellcheck(this);
        const sc = shellcheck(["-s", "sh", path.join(DOUBLES, "install.sh"), path.join(DOUBLES, "k3s")]);
        assert.equal(sc.status, 0, sc.stdout);
    });

    after(async function () {
        if (lab) await lab.destroy();
        assert.deepEqual(leftoverNamespaces(), [], "the lab left network namespaces behind");
    });

    it("installs one server and two agents: config on each host, server before agents, agents concurrently", async () => {
        const hosts = lab.hosts.slice(0, 3);
        const config = labConfig(lab, { hosts, servers: 1, version: V1, airgap: v1 });
        const plan = planOf(config);
        last = await up(lab, config);
        const t = last.timeline;

        for (const h of hosts) {
            const node = plan.nodes.find((n) => n.name === h.name)!;
            assert.equal(await must(h, `cat ${K3S_PATHS.config}`), renderK3sConfig(plan, node), `${h.name}: config.yaml is the rendered one`);
            assert.equal((await must(h, `stat -c '%a %U' ${K3S_PATHS.config} ${K3S_PATHS.tokenFile}`)).trim(), "600 root\n600 root");
            assert.equal(await must(h, `cat ${K3S_PATHS.tokenFile}`), TOKEN);
            assert.ok((await must(h, `ls ${K3S_PATHS.imagesDir}`)).includes(IMAGES), `${h.name}: image tarball not in place`);
        }
        // Order: the server's install (which waits for /readyz) ends before any agent's starts; the
        // agents' installs overlap in time; each membership check follows its node's install.
        const server = entry(t, "cluster-h1-install");
        const [a2, a3] = [entry(t, "cluster-h2-install"), entry(t, "cluster-h3-install")];
        assert.ok(server.end <= a2.start && server.end <= a3.start, "an agent started before the server was up");
        assert.ok(a2.start < a3.end && a3.start < a2.end, `agent installs did not overlap: h2 ${a2.start}-${a2.end}, h3 ${a3.start}-${a3.end}`);
        for (const w of ["h2", "h3"]) assert.ok(entry(t, `cluster-${w}-member`).start >= entry(t, `cluster-${w}-install`).end);

        // What the install script double saw: the role as argument, the pinned version, no download.
        for (const h of hosts) {
            const argv = await must(h, `cat ${DOUBLE_RECORDS}/install.*.argv`);
            assert.equal(argv.trim(), h === hosts[0] ? "server" : "agent");
            const env = await must(h, `cat ${DOUBLE_RECORDS}/install.*.env`);
            assert.match(env, new RegExp(`^INSTALL_K3S_VERSION=${V1.replace(/[.+]/g, "\\$&")}$`, "m"));
            assert.match(env, /^INSTALL_K3S_SKIP_DOWNLOAD=true$/m);
            assert.doesNotMatch(env, /^K3S_(TOKEN|URL)=/m);
            // The k3s double found the config we rendered and a token file holding the token.
            const seen = await must(h, `cat ${DOUBLE_RECORDS}/k3s.*.config`);
            assert.equal(seen, renderK3sConfig(plan, plan.nodes.find((n) => n.name === h.name)!));
            assert.equal((await must(h, `cat ${DOUBLE_RECORDS}/k3s.*.token-sha256`)).trim(), createHash("sha256").update(TOKEN).digest("hex"));
            // No recorded argv, environment or config carries the token.
            const leaks = await h.inspect(`grep -rlF ${TOKEN} ${DOUBLE_RECORDS}`);
            assert.equal(leaks.code, 1, `${h.name}: the token is in ${leaks.stdout}`);
        }

        // The kubeconfig: k3s wrote 127.0.0.1; the output points at the server's address.
        const kubeconfig = parse(String(last.result.outputs.kubeconfig));
        assert.equal(kubeconfig.clusters[0].cluster.server, "https://10.213.0.11:6443");
        const onHost = parse(await must(hosts[0], `cat ${K3S_PATHS.kubeconfig}`));
        assert.equal(onHost.clusters[0].cluster.server, "https://127.0.0.1:6443");
        kubeconfig.clusters[0].cluster.server = onHost.clusters[0].cluster.server;
        assert.deepEqual(kubeconfig, onHost);
        assert.equal((await must(hosts[0], `stat -c %a ${K3S_PATHS.kubeconfig}`)).trim(), "600");
    });

    it("running create again changes nothing and restarts nothing", async () => {
        const hosts = lab.hosts.slice(0, 3);
        const before = await Promise.all(hosts.map(async (h) => [await tree(h), await restarts(h)] as const));
        last = await up(lab, labConfig(lab, { hosts, servers: 1, version: V1, airgap: v1 }));
        for (const [i, h] of hosts.entries()) {
            assert.equal(await tree(h), before[i][0], `${h.name}: files changed on a second create`);
            assert.equal(await restarts(h), before[i][1], `${h.name}: k3s was restarted on a second create`);
        }
    });

    it("a changed label rewrites that node's config and restarts that node only", async () => {
        const hosts = lab.hosts.slice(0, 3);
        const before = await Promise.all(hosts.map(restarts));
        last = await up(lab, labConfig(lab, { hosts, servers: 1, version: V1, airgap: v1, labels: { h2: { zone: "b" } } }));
        assert.match(await must(hosts[1], `cat ${K3S_PATHS.config}`), /^node-label:\n {2}- zone=b$/m);
        assert.deepEqual(await Promise.all(hosts.map(restarts)), [before[0], before[1] + 1, before[2]]);
    });

    it("a version change upgrades in place: servers first, then agents through their drain/upgrade/uncordon steps one batch at a time, never an uninstall", async () => {
        const hosts = lab.hosts.slice(0, 3);
        const before = await Promise.all(hosts.map(restarts));
        // An up of the stack as the last one left it: the agents' installs ignore the new version.
        last = await up(lab, labConfig(lab, { hosts, servers: 1, version: V2, airgap: airgapDir(V2), labels: { h2: { zone: "b" } } }), last.state);
        for (const [i, h] of hosts.entries()) {
            assert.match(await must(h, "k3s --version"), new RegExp(`k3s version ${V2.replace(/[.+]/g, "\\$&")} `));
            assert.equal(await restarts(h), before[i] + 1, `${h.name}: not restarted onto the new binary`);
            assert.ok(!(await calls(h)).some((c) => /uninstall/.test(c.line)), `${h.name}: an upgrade ran an uninstall script`);
        }
        const t = last.timeline;
        const server = entry(t, "cluster-h1-install", "update");
        for (const w of ["h2", "h3"]) {
            assert.ok(!t.some((e) => e.name === `cluster-${w}-install` && e.phase !== "update"), `${w}: its install was created again`);
            const [drain, upgrade, uncordon] = ["drain", "upgrade", "uncordon"].map((s) => entry(t, `cluster-${w}-${s}`, "update"));
            assert.ok(server.end <= drain.start, `${w} drained before the server was upgraded`);
            assert.ok(drain.end <= upgrade.start && upgrade.end <= uncordon.start, `${w}: drain, upgrade, uncordon out of order`);
            assert.equal(upgrade.host, w);
        }
        // Two agents, 10% rounded down is 0: batches of one.
        assert.ok(entry(t, "cluster-h2-uncordon", "update").end <= entry(t, "cluster-h3-drain", "update").start, "h3 was drained before h2 was uncordoned");
    });

    it("registry mirrors: registries.yaml root-only on every node, a change restarts one node at a time, the password on no command line; removed exactly", async () => {
        const hosts = lab.hosts.slice(0, 3);
        const password = "lab-registry-passw0rd-9c1e";
        const registries = (endpoint: string) => ({
            mirrors: { "docker.io": { endpoint: [endpoint] } },
            configs: { "[fd5e:1ab:7c2d:1::5]:5000": { auth: { username: "puller", password } } },
        });
        const base = labConfig(lab, { hosts, servers: 1, version: V2, airgap: airgapDir(V2), labels: { h2: { zone: "b" } } });
        for (const endpoint of ["https://[fd5e:1ab:7c2d:1::5]:5000", "https://[fd5e:1ab:7c2d:1::6]:5000"]) {
            const before = await Promise.all(hosts.map(restarts));
            const run = await up(lab, { ...base, "dualstack:registries": JSON.stringify(registries(endpoint)) });
            for (const [i, h] of hosts.entries()) {
                assert.equal((await must(h, "stat -c %a /etc/rancher/k3s/registries.yaml")).trim(), "600", h.name);
                const doc = parse(await must(h, "cat /etc/rancher/k3s/registries.yaml"));
                assert.deepEqual(doc.mirrors["docker.io"].endpoint, [endpoint]);
                assert.equal(doc.configs["[fd5e:1ab:7c2d:1::5]:5000"].auth.password, password);
                assert.equal(await restarts(h), before[i] + 1, `${h.name}: not restarted exactly once for the registry change`);
                assert.equal((await h.inspect(`grep -rl ${password} /run/k3s-double /run/systemctl-double 2>/dev/null || true`)).stdout.trim(), "", `${h.name}: the password reached a recorded argv or environment`);
            }
            // One node at a time, the server first: each registries step (restart and wait included) ends before the next starts.
            const steps = hosts.map((h) => entry(run.timeline, `cluster-${h.name}-registries`));
            for (let i = 1; i < steps.length; i++) assert.ok(steps[i - 1].end <= steps[i].start, `${hosts[i].name} restarted while ${hosts[i - 1].name} was restarting`);
            for (const r of run.result.resources) assert.ok(!JSON.stringify(unwrapSecrets(r.inputs.create ?? "")).includes(password), r.name);
            if (endpoint.includes("::6")) {
                // Only the registries leave the stack: their files go, and each runtime restarts to drop them.
                const running = await Promise.all(hosts.map(restarts));
                await destroyRegistered(run.result, lab, { only: hosts.map((h) => `cluster-${h.name}-registries`), timeline: [] });
                assert.deepEqual(await Promise.all(hosts.map(restarts)), running.map((x) => x + 1));
                for (const h of hosts) {
                    assert.equal((await h.inspect("ls /etc/rancher/k3s/registries.yaml /var/lib/dualstack/registries.files 2>/dev/null || true")).stdout.trim(), "", `${h.name}: the registries step left its files behind`);
                }
            }
        }
    });

    it("removing a node from the stack drains and deletes it, then uninstalls it; the others are untouched", async () => {
        const hosts = lab.hosts.slice(0, 3);
        const h2Before = await tree(hosts[1]);
        const smaller = await up(lab, labConfig(lab, { hosts: hosts.slice(0, 2), servers: 1, version: V2, airgap: airgapDir(V2), labels: { h2: { zone: "b" } } }));
        // What `pulumi up` deletes: the resources the program no longer registers.
        const kept = new Set(smaller.result.resources.map((r) => r.name));
        // (The stack holds what the last up left in its state, run by it or kept unchanged.)
        const gone = [...last.state.keys()].filter((n) => !kept.has(n));
        assert.deepEqual(gone.filter((n) => /-(install|member|token)$/.test(n)).sort(), ["cluster-h3-install", "cluster-h3-member", "cluster-h3-token"]);
        const timeline: TimelineEntry[] = [];
        await destroyRegistered(last.result, lab, { only: gone, timeline });

        const h1Calls = await calls(hosts[0]);
        const drain = h1Calls.find((c) => / kubectl drain h3 /.test(c.line));
        const del = h1Calls.find((c) => / kubectl delete node h3/.test(c.line));
        const uninstall = (await calls(hosts[2])).find((c) => c.line.endsWith("/usr/local/bin/k3s-agent-uninstall.sh"));
        assert.ok(drain && del && uninstall, "drain, delete and uninstall were not all recorded");
        assert.ok(drain.at < del.at && del.at < uninstall.at, "h3 was uninstalled before it left the cluster");
        assert.equal(await tree(hosts[2]), fresh.get("h3"), "h3 is not back to its fresh state");
        assert.equal(await tree(hosts[1]), h2Before, "removing h3 changed h2");
        last = smaller;
    });

    it("destroy uninstalls the agents first, then the server, and leaves no files behind", async () => {
        const hosts = lab.hosts.slice(0, 2);
        const timeline: TimelineEntry[] = [];
        await destroyRegistered(last.result, lab, { only: [...last.state.keys()], timeline });
        const agentUninstall = (await calls(hosts[1])).find((c) => c.line.endsWith("/usr/local/bin/k3s-agent-uninstall.sh"));
        const serverUninstall = (await calls(hosts[0])).find((c) => c.line.endsWith("/usr/local/bin/k3s-uninstall.sh"));
        assert.ok(agentUninstall && serverUninstall, "an uninstall script did not run");
        assert.ok(agentUninstall.at < serverUninstall.at, "the server was uninstalled before the agent");
        assert.ok(entry(timeline, "cluster-h2-member", "delete").end <= entry(timeline, "cluster-h2-install", "delete").start, "drain after uninstall");
        for (const h of hosts) assert.equal(await tree(h), fresh.get(h.name), `${h.name}: files left behind`);
    });

    it("IPv6-primary, three servers: cluster-init on the first, the others join one at a time over a bracketed URL", async () => {
        // h3 is fresh again since it left the stack above.
        const hosts = lab.hosts.slice(2, 5);
        const config = labConfig(lab, { hosts, servers: 3, version: V1, airgap: v1, v6First: true });
        const plan = planOf(config);
        const run = await up(lab, config);
        const first = plan.firstControlPlane;
        const url = `https://[${first.ipv6}]:6443`;
        for (const [i, h] of hosts.entries()) {
            const c = parse(await must(h, `cat ${K3S_PATHS.config}`));
            const node = plan.nodes[i];
            assert.equal(c["cluster-init"], i === 0 ? true : undefined, h.name);
            assert.equal(c.server, i === 0 ? undefined : url, h.name);
            assert.equal(c["node-ip"], `${node.ipv6},${node.ipv4}`);
        }
        const t = run.timeline;
        assert.ok(entry(t, "cluster-h3-install").end <= entry(t, "cluster-h4-install").start, "h4 joined before h3 was up");
        assert.ok(entry(t, "cluster-h4-member").end <= entry(t, "cluster-h5-install").start, "h5 joined before h4 was registered");
        assert.equal(parse(String(run.result.outputs.kubeconfig)).clusters[0].cluster.server, url);

        await destroyRegistered(run.result, lab, { only: run.executed });
        const uninstalled = await Promise.all(hosts.map(async (h) => (await calls(h)).filter((c) => c.line.endsWith("/k3s-uninstall.sh")).at(-1)!.at));
        assert.ok(uninstalled[2] < uninstalled[1] && uninstalled[1] < uninstalled[0], "servers must leave newest first, the first one last");
        for (const h of hosts) assert.equal(await tree(h), fresh.get(h.name), `${h.name}: files left behind`);
    });
});
