// A real Kubernetes control plane (etcd + kube-apiserver, built from Go modules under
// test/engine/modules) inside one lab host, for the tests that need the API server's own
// behaviour: one ClusterIP per family for a RequireDualStack Service (or its refusal on a
// single-stack cluster), custom resources admitted against their CRDs, Helm release Secrets.
//
// Only etcd and kube-apiserver run: no scheduler, no controller-manager, no kubelet. What that
// leaves undone, and how the tests deal with it, is listed in README ("The lab: a real API server").
//
// The API server listens on the host's :6443 (all addresses, both families), the address the
// program's kubeconfig names. Certificates are made here with Debian's openssl, fresh per run.
// The k3s/k0s doubles hand the admin kubeconfig out as the real tools would
// (`k3s kubectl config view --raw`, /etc/rancher/k3s/k3s.yaml; `k0s kubeconfig admin`) and pass
// `kubectl` calls they do not double to the real kubectl against this server.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { addressAt } from "../../components/net";
import type { ExecResult, LabHost } from "./harness";
import { tempDir } from "../support/tmp";

/** Inside each host (private tmpfs): certificates, etcd data, logs, the kubeconfig the doubles hand out. */
export const CP_DIR = "/run/dualstack-test-cp";
export const CP_KUBECONFIG = `${CP_DIR}/admin.kubeconfig`;
/** The real kubectl, linked here when the doubles should forward to it. */
export const CP_KUBECTL = `${CP_DIR}/kubectl`;
export const API_PORT = 6443;

const TOOLS = ["etcd", "kube-apiserver", "kubectl"] as const;

/**
 * The directory holding etcd, kube-apiserver and kubectl: $DUALSTACK_ENGINE_BIN, else what
 * `npm run -s engine:bin` prints (when the project has that script), else the manual build
 * directory. Throws, naming the command that builds them, when a tool is missing.
 */
export function controlPlaneBinDir(root = path.resolve(__dirname, "..", "..")): string {
    const candidates: string[] = [];
    if (process.env.DUALSTACK_ENGINE_BIN) candidates.push(process.env.DUALSTACK_ENGINE_BIN);
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { scripts?: Record<string, string> };
    if (pkg.scripts?.["engine:bin"]) {
        // Builds first when the cache is cold (minutes): its progress goes to stderr.
        const r = spawnSync("npm", ["run", "-s", "engine:bin"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
        const last = (r.stdout ?? "").trim().split("\n").pop();
        if (r.status === 0 && last) candidates.push(last.trim());
    }
    const cache = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache");
    candidates.push(path.join(cache, "dualstack-engine", "manual", "bin"));
    for (const dir of candidates) {
        if (TOOLS.every((t) => fs.existsSync(path.join(dir, t)))) return dir;
    }
    throw new Error(
        `the control-plane lab needs ${TOOLS.join(", ")} built from test/engine/modules: run \`npm run engine:build\` ` +
            `(or set DUALSTACK_ENGINE_BIN to a directory holding them); looked in ${candidates.join(", ")}`,
    );
}

export interface Pki {
    caCrt: string;
    serverCrt: string;
    serverKey: string;
    adminCrt: string;
    adminKey: string;
    saKey: string;
    saPub: string;
}

function openssl(dir: string, args: string[]): void {
    execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

/** A throw-away CA, the API server's serving certificate (SANs: `sans`), an admin client and the service-account key. */
export function makePki(sans: { ips: string[]; dns: string[] }): Pki {
    const dir = tempDir("dualstack-pki");
    try {
        const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
        openssl(dir, ["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=dualstack-lab-test-ca"]);
        const san = [...sans.ips.map((i) => `IP:${i}`), ...sans.dns.map((d) => `DNS:${d}`)].join(",");
        fs.writeFileSync(path.join(dir, "server.ext"), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n`);
        fs.writeFileSync(path.join(dir, "client.ext"), "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n");
        for (const [name, subj, ext] of [
            ["server", "/CN=kube-apiserver", "server.ext"],
            ["admin", "/O=system:masters/CN=dualstack-lab-admin", "client.ext"],
        ]) {
            openssl(dir, ["req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subj]);
            openssl(dir, ["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", `${name}.crt`]);
        }
        openssl(dir, ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "sa.key"]);
        openssl(dir, ["pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub"]);
        const r = (f: string) => fs.readFileSync(path.join(dir, f), "utf8");
        return { caCrt: r("ca.crt"), serverCrt: r("server.crt"), serverKey: r("server.key"), adminCrt: r("admin.crt"), adminKey: r("admin.key"), saKey: r("sa.key"), saPub: r("sa.pub") };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** An admin kubeconfig as k3s writes one: embedded certificates, server https://127.0.0.1:6443. */
export function adminKubeconfig(pki: Pki, server = `https://127.0.0.1:${API_PORT}`): string {
    const b64 = (x: string) => Buffer.from(x).toString("base64");
    return stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "default", cluster: { "certificate-authority-data": b64(pki.caCrt), server } }],
        contexts: [{ name: "default", context: { cluster: "default", user: "default" } }],
        "current-context": "default",
        preferences: {},
        users: [{ name: "default", user: { "client-certificate-data": b64(pki.adminCrt), "client-key-data": b64(pki.adminKey) } }],
    });
}

/** The kube-apiserver flags: the stack's service CIDRs as the (dual-stack) service range. */
export function apiServerArgs(o: { advertise: string; serviceCidrs: string[]; binDir: string }): string[] {
    const pki = `${CP_DIR}/pki`;
    return [
        `${o.binDir}/kube-apiserver`,
        `--advertise-address=${o.advertise}`,
        // "::" listens on both families (Linux dual-stack sockets), as k3s and k0s do.
        "--bind-address=::",
        `--secure-port=${API_PORT}`,
        `--service-cluster-ip-range=${o.serviceCidrs.join(",")}`,
        "--etcd-servers=http://127.0.0.1:2379",
        `--client-ca-file=${pki}/ca.crt`,
        `--tls-cert-file=${pki}/server.crt`,
        `--tls-private-key-file=${pki}/server.key`,
        `--service-account-key-file=${pki}/sa.pub`,
        `--service-account-signing-key-file=${pki}/sa.key`,
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        "--authorization-mode=RBAC",
        "--allow-privileged=true",
        // No kubelets: nothing may try to reach one.
        "--enable-logs-handler=false",
        "--profiling=false",
    ];
}

export interface ControlPlane {
    /** Seconds from starting kube-apiserver until /readyz answered ok. */
    startSeconds: number;
    etcdSeconds: number;
    kubeconfig: string;
    pki: Pki;
    /** `kubectl <args>` inside the host against this API server (the real kubectl). */
    kubectl(args: string, opts?: { stdinFile?: string }): Promise<ExecResult>;
    /** Writes `content` to a file in the host and runs `kubectl <verb> -f` on it. */
    apply(verb: "create" | "apply" | "delete", manifest: string): Promise<ExecResult>;
    /** The last lines of the API server's log (for failures). */
    logTail(): Promise<string>;
    stop(): Promise<void>;
}

function sh(s: string): string {
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

async function must(host: LabHost, command: string, what: string): Promise<string> {
    const r = await host.inspect(command);
    if (r.code !== 0) throw new Error(`control-plane lab: ${what} failed (${r.code}): ${(r.stderr || r.stdout).trim()}`);
    return r.stdout;
}

async function waitFor(host: LabHost, command: string, seconds: number, what: string, log: string): Promise<number> {
    const t0 = process.hrtime.bigint();
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
        const r = await host.inspect(command);
        if (r.code === 0) return Number(process.hrtime.bigint() - t0) / 1e9;
        if (Date.now() > deadline) {
            const tail = await host.inspect(`tail -n 30 ${sh(log)}`);
            throw new Error(`control-plane lab: ${what} not ready within ${seconds}s:\n${tail.stdout}`);
        }
        await new Promise((res) => setTimeout(res, 100));
    }
}

/**
 * Starts etcd and kube-apiserver in `host` (its network, mount and UTS namespaces; the processes
 * end with the lab). `serviceCidrs` is the stack's `network.serviceCidrs`, primary family first.
 */
export async function startControlPlane(host: LabHost, o: { serviceCidrs: string[]; extraSans?: string[]; binDir?: string }): Promise<ControlPlane> {
    const missing = ["openssl", "curl"].filter((c) => spawnSync("sh", ["-c", `command -v ${c}`], { stdio: "ignore" }).status !== 0);
    if (missing.length > 0) throw new Error(`the control-plane lab needs ${missing.join(" and ")}: apt-get install -y ${missing.join(" ")}`);
    const binDir = o.binDir ?? controlPlaneBinDir();
    const pki = makePki({
        ips: ["127.0.0.1", "::1", host.ipv4, ...o.serviceCidrs.map((c) => addressAt(c, 1n)), ...(o.extraSans ?? [])],
        dns: ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"],
    });
    const files: Record<string, string> = {
        "pki/ca.crt": pki.caCrt,
        "pki/server.crt": pki.serverCrt,
        "pki/server.key": pki.serverKey,
        "pki/sa.key": pki.saKey,
        "pki/sa.pub": pki.saPub,
        "admin.kubeconfig": adminKubeconfig(pki),
    };
    for (const [f, content] of Object.entries(files)) await host.writeFile(`${CP_DIR}/${f}`, content, f.endsWith(".key") || f.endsWith(".kubeconfig") ? 0o600 : 0o644);
    await must(host, `ln -sf ${sh(`${binDir}/kubectl`)} ${sh(CP_KUBECTL)}`, "linking kubectl");

    // setsid -f: detached from this call; stdio to files so the inspect call returns at once.
    const detach = (name: string, argv: string[]) =>
        must(host, `setsid -f sh -c ${sh(`exec ${argv.map(sh).join(" ")} >${CP_DIR}/${name}.log 2>&1 </dev/null & echo $! > ${CP_DIR}/${name}.pid`)}`, `starting ${name}`);

    const e0 = process.hrtime.bigint();
    await detach("etcd", [
        `${binDir}/etcd`,
        `--data-dir=${CP_DIR}/etcd`,
        "--listen-client-urls=http://127.0.0.1:2379",
        "--advertise-client-urls=http://127.0.0.1:2379",
        "--listen-peer-urls=http://127.0.0.1:2380",
        "--initial-advertise-peer-urls=http://127.0.0.1:2380",
        "--initial-cluster=default=http://127.0.0.1:2380",
        // The data lives on a tmpfs that ends with the test: fsync buys nothing here.
        "--unsafe-no-fsync",
        "--log-level=warn",
    ]);
    await waitFor(host, "curl -fsS http://127.0.0.1:2379/health | grep -q '\"health\":\"true\"'", 30, "etcd", `${CP_DIR}/etcd.log`);
    const etcdSeconds = Number(process.hrtime.bigint() - e0) / 1e9;

    const kc = `${sh(CP_KUBECTL)} --kubeconfig ${sh(CP_KUBECONFIG)}`;
    await detach("kube-apiserver", apiServerArgs({ advertise: host.ipv4, serviceCidrs: o.serviceCidrs, binDir }));
    const startSeconds = await waitFor(host, `[ "$(${kc} get --raw /readyz 2>/dev/null)" = ok ]`, 120, "kube-apiserver", `${CP_DIR}/kube-apiserver.log`);

    let n = 0;
    return {
        startSeconds,
        etcdSeconds,
        kubeconfig: files["admin.kubeconfig"],
        pki,
        kubectl: (args) => host.inspect(`${kc} ${args}`),
        apply: async (verb, manifest) => {
            const f = `${CP_DIR}/manifests/${++n}.yaml`;
            await host.writeFile(f, manifest);
            return host.inspect(`${kc} ${verb} -f ${sh(f)}`);
        },
        logTail: async () => (await host.inspect(`tail -n 40 ${CP_DIR}/kube-apiserver.log`)).stdout,
        stop: async () => {
            // Waits until both are gone: a control plane started next in the same host needs their ports.
            await host.inspect(
                `for p in kube-apiserver etcd; do [ -f ${CP_DIR}/$p.pid ] || continue; pid=$(cat ${CP_DIR}/$p.pid); kill "$pid" 2>/dev/null; ` +
                    `i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done; kill -9 "$pid" 2>/dev/null; done; rm -rf ${CP_DIR}; true`,
            );
        },
    };
}
