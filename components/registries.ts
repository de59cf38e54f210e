// dualstack:registries: registry mirrors and credentials, in the shape of k3s' registries.yaml
// (docs.k3s.io/installation/private-registry: `mirrors.<registry>.endpoint`, `rewrite`,
// `configs.<host>.auth` and `.tls`), rendered per distribution. Pure: no Pulumi, no I/O.
//
// - k3s reads /etc/rancher/k3s/registries.yaml only when it starts, so a change restarts k3s.
// - k0s: a containerd drop-in under /etc/k0s/containerd.d/ that points the CRI plugin's
//   `config_path` at /etc/k0s/containerd.d/certs.d, plus one hosts.toml per registry there, as
//   k0s' docs/runtime.md "Configuring OCI registry mirrors" shows. k0s >= 1.36 ships containerd 2
//   (k0s#7178: config `version = 3`, plugin `io.containerd.cri.v1.images`); 1.27-1.35 ship
//   containerd 1.7 (`version = 2`, `io.containerd.grpc.v1.cri`); drop-ins exist since 1.27.1.
// - kubeadm: the host's own containerd (2.x from Kubernetes 1.36): a drop-in under
//   /etc/containerd/conf.d that /etc/containerd/config.toml imports, pointing `config_path` at
//   /etc/containerd/certs.d, plus the same hosts.toml files there (components/kubeadm/scripts.ts).
// - containerd's hosts.toml (containerd docs/hosts.md) has no credentials and no rewrite.
//   Credentials go into the drop-in as `registry.configs."<host>".auth` (deprecated upstream
//   but kept "until a suitable secret management alternative is available", containerd
//   docs/cri/registry.md); `rewrite` is a k3s extension, so k0s and kubeadm refuse it.
//   containerd 2.x still reads it: `Registry.Configs[host].Auth` is the credentials callback of
//   both CRI pull paths, transfer service and local (internal/cri/server/images/image_pull.go,
//   GRPCCRIImageService.PullImage), with `config_path` set; what 2.0 dropped from
//   `registry.configs` is `tls` (RegistryConfig has only Auth in internal/cri/config/config.go),
//   which is why TLS settings go into hosts.toml here (kURL#5972 hit the removed `tls`).
import { z } from "zod";
import { stringify } from "yaml";
import type { Artifact } from "./artifacts";
import type { DayTwoProfile } from "./distributions/profile";
import type { CommandStep } from "./steps";
import { findings, Findings } from "./findings";
import { waitUntil } from "./kube";
import { byCodePoint } from "./order";
import { q } from "./shell";

const KEY = "dualstack:registries";

const text = z.string().min(1);

export const registriesSchema = z.strictObject({
    mirrors: z
        .record(
            z.string(),
            z.strictObject({
                endpoint: z.array(text).min(1),
                rewrite: z.record(z.string(), z.string()).default({}),
            }),
        )
        .default({}),
    configs: z
        .record(
            z.string(),
            z.strictObject({
                /** Set the password with `pulumi config set --secret --path`. */
                auth: z.strictObject({ username: text, password: text }).optional(),
                tls: z
                    .strictObject({
                        ca_file: text.optional(),
                        cert_file: text.optional(),
                        key_file: text.optional(),
                        insecure_skip_verify: z.boolean().optional(),
                    })
                    .optional(),
            }),
        )
        .default({}),
});

export type Registries = z.infer<typeof registriesSchema>;

export const EMPTY_REGISTRIES: Registries = { mirrors: {}, configs: {} };

export function hasRegistries(r: Registries): boolean {
    return Object.keys(r.mirrors).length > 0 || Object.keys(r.configs).length > 0;
}

// A registry as containerd names it: host[:port] (DNS name, IPv4, or a bracketed IPv6 literal),
// or `*` (k3s: every registry). It also becomes a directory name under certs.d.
const REGISTRY = /^(\*|[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?)$/;
const ABSOLUTE_PATH = /^\/[A-Za-z0-9_.\/+@=-]*$/;

/** Endpoint problems, or undefined when it is an http(s) URL. IPv6 literals must be bracketed. */
export function endpointProblem(endpoint: string): { rule: string; fix: string } | undefined {
    if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(endpoint)) return { rule: "is not a URL", fix: "write the mirror as a URL, e.g. https://mirror.example.com:5000 or https://[fd00::5]:5000" };
    let url: URL;
    try {
        url = new URL(endpoint);
    } catch {
        const bareV6 = /^https?:\/\/[0-9A-Fa-f]*:[0-9A-Fa-f:]*:/.test(endpoint);
        return bareV6
            ? { rule: "is not a URL: an IPv6 literal in a URL must be in brackets", fix: `write it as ${endpoint.replace(/^(https?:\/\/)(.*?)(:\d+)?(\/.*)?$/, "$1[$2]$3$4")} (brackets around the address, the port after them)` }
            : { rule: "is not a URL", fix: "write the mirror as a URL, e.g. https://mirror.example.com:5000 or https://[fd00::5]:5000" };
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") return { rule: `has scheme ${url.protocol} instead of http or https`, fix: "use https://host[:port][/path]" };
    if (url.username || url.password) return { rule: "carries credentials in the URL, which would land in every rendered file and log", fix: "remove them and set configs.<host>.auth.username and the password as a secret" };
    if (url.search || url.hash) return { rule: "has a query or fragment, which containerd ignores", fix: "remove everything after ? or #" };
    return undefined;
}

/** host[:port] of an endpoint URL, as `configs` keys name it. */
export function endpointHost(endpoint: string): string {
    return new URL(endpoint).host;
}

export interface RegistryTarget {
    /** What the distribution can express (its profile's day-two registries entry). */
    profile: DayTwoProfile["registries"];
    /** Kubernetes minor version of the release (k0s picks its containerd config shape from it). */
    minor: number;
}

/** Every refusal and warning for `dualstack:registries`. */
export function registriesFindings(r: Registries, t: RegistryTarget): Findings {
    const f = findings();
    const { unsupported, minimum, noWildcard, noRewrite } = t.profile;
    // The value never shows the registries: their credentials must not reach a problem report.
    if (unsupported) {
        f.error(KEY, "(set)", unsupported.rule, unsupported.fix);
        return f;
    }
    if (minimum && t.minor < minimum.minor && hasRegistries(r)) f.error(KEY, "(set)", minimum.rule, minimum.fix);
    for (const [name, m] of Object.entries(r.mirrors)) {
        const key = `${KEY}.mirrors.${name}`;
        if (!REGISTRY.test(name)) f.error(key, name, "is not a registry host[:port] (or * for every registry)", "name the registry as images do, e.g. docker.io or registry.example.com:5000");
        if (name === "*" && noWildcard) f.error(key, name, noWildcard, "list each registry, e.g. docker.io");
        m.endpoint.forEach((e, i) => {
            const problem = endpointProblem(e);
            if (problem) f.error(`${key}.endpoint[${i}]`, e, problem.rule, problem.fix);
        });
        if (new Set(m.endpoint).size !== m.endpoint.length) f.error(`${key}.endpoint`, m.endpoint, "repeats an endpoint (containerd fails to load a hosts.toml with duplicate hosts, k3s#9694)", "list each endpoint once");
        for (const pattern of Object.keys(m.rewrite)) {
            if (noRewrite) {
                f.error(`${key}.rewrite`, m.rewrite, noRewrite, "mirror the repositories under their upstream names, or remove rewrite");
                break;
            }
            try {
                new RegExp(pattern);
            } catch {
                f.error(`${key}.rewrite`, pattern, "is not a regular expression", "write e.g. ^rancher/(.*)");
            }
        }
    }
    for (const [host, c] of Object.entries(r.configs)) {
        const key = `${KEY}.configs.${host}`;
        if (!REGISTRY.test(host) || host === "*") f.error(key, host, "is not a registry host[:port]", "use the host[:port] of the registry or mirror endpoint, e.g. registry.example.com:5000");
        const tls = c.tls ?? {};
        for (const field of ["ca_file", "cert_file", "key_file"] as const) {
            const v = tls[field];
            if (v !== undefined && !ABSOLUTE_PATH.test(v)) f.error(`${key}.tls.${field}`, v, "is not an absolute path on the nodes", "give the file's path on every node, e.g. /etc/ssl/registry/ca.pem");
        }
        if ((tls.cert_file === undefined) !== (tls.key_file === undefined)) {
            f.error(`${key}.tls`, tls, "a client certificate needs both cert_file and key_file", "set both, or neither");
        }
        if (tls.insecure_skip_verify === true) {
            f.warn(`${key}.tls.insecure_skip_verify`, true, "turns off certificate checks for this registry: whoever can intercept the connection can serve any image to every node (README: Registry mirrors)", "give the registry's CA in tls.ca_file instead");
        }
    }
    return f;
}

const sortedEntries = <T>(o: Record<string, T>): [string, T][] => Object.entries(o).sort(([a], [b]) => byCodePoint(a, b));

/** /etc/rancher/k3s/registries.yaml (holds credentials when configs set auth: a secret). */
export function renderK3sRegistries(r: Registries): string {
    const mirrors = Object.fromEntries(
        sortedEntries(r.mirrors).map(([name, m]) => [name, { endpoint: [...m.endpoint], ...(Object.keys(m.rewrite).length > 0 ? { rewrite: Object.fromEntries(sortedEntries(m.rewrite)) } : {}) }]),
    );
    const configs = Object.fromEntries(
        sortedEntries(r.configs).map(([host, c]) => {
            const out: Record<string, unknown> = {};
            if (c.auth) out.auth = { username: c.auth.username, password: c.auth.password };
            if (c.tls) out.tls = Object.fromEntries(sortedEntries(c.tls as Record<string, unknown>));
            return [host, out];
        }),
    );
    return "# written by dualstack (dualstack:registries); k3s reads it when it starts\n" + stringify({ mirrors, configs }, { lineWidth: 0 });
}

export const K0S_CONTAINERD_DIR = "/etc/k0s/containerd.d";
export const K0S_REGISTRY_DROPIN = `${K0S_CONTAINERD_DIR}/dualstack-registries.toml`;
export const K0S_HOSTS_DIR = `${K0S_CONTAINERD_DIR}/certs.d`;

/** TOML basic string: JSON's escapes are a subset of TOML's for the validated values we write. */
const toml = (s: string) => JSON.stringify(s);

/** The `server` containerd tries last for a registry (its default endpoint, k3s docs "Default Endpoint Fallback"). */
function defaultServer(registry: string): string {
    return registry === "docker.io" ? "https://registry-1.docker.io" : `https://${registry}`;
}

function tlsLines(tls: NonNullable<Registries["configs"][string]["tls"]> | undefined, indent = ""): string[] {
    if (!tls) return [];
    const out: string[] = [];
    if (tls.ca_file) out.push(`${indent}ca = ${toml(tls.ca_file)}`);
    if (tls.cert_file && tls.key_file) out.push(`${indent}client = [[${toml(tls.cert_file)}, ${toml(tls.key_file)}]]`);
    if (tls.insecure_skip_verify) out.push(`${indent}skip_verify = true`);
    return out;
}

export interface HostFile {
    /** Absolute path on the node. */
    path: string;
    content: string;
    /** Holds credentials: written from stdin into a root-only file, never embedded in a script. */
    secret: boolean;
}

/** Where a containerd reads the registry drop-in and its hosts.toml directory (`config_path`). */
export interface ContainerdRegistryLayout {
    dropIn: string;
    hostsDir: string;
    /** The drop-in's first line: who reads it. */
    header: string;
}

export const K0S_CONTAINERD: ContainerdRegistryLayout = {
    dropIn: K0S_REGISTRY_DROPIN,
    hostsDir: K0S_HOSTS_DIR,
    header: "# written by dualstack (dualstack:registries); k0s merges it into its containerd CRI config",
};

/** The k0s files: the drop-in (credentials, if any) and one hosts.toml per registry. */
export function k0sRegistryFiles(r: Registries, minor: number): HostFile[] {
    return containerdRegistryFiles(r, minor >= 36 ? 3 : 2, K0S_CONTAINERD);
}

/**
 * A containerd's registry files: the drop-in (config `version` 3, containerd 2's
 * `io.containerd.cri.v1.images` plugin, or 2, containerd 1.x's `io.containerd.grpc.v1.cri`, which
 * containerd 2 migrates) with `config_path` and the credentials, if any, and one hosts.toml per registry.
 */
export function containerdRegistryFiles(r: Registries, configVersion: 2 | 3, layout: ContainerdRegistryLayout): HostFile[] {
    const v3 = configVersion === 3;
    const plugin = v3 ? "io.containerd.cri.v1.images" : "io.containerd.grpc.v1.cri";
    const dropIn = [layout.header, `version = ${configVersion}`, "", `[plugins.${toml(plugin)}.registry]`, `config_path = ${toml(layout.hostsDir)}`];
    let secret = false;
    for (const [host, c] of sortedEntries(r.configs)) {
        if (!c.auth) continue;
        secret = true;
        dropIn.push("", `[plugins.${toml(plugin)}.registry.configs.${toml(host)}.auth]`, `username = ${toml(c.auth.username)}`, `password = ${toml(c.auth.password)}`);
    }
    const files: HostFile[] = [{ path: layout.dropIn, content: dropIn.join("\n") + "\n", secret }];
    const registries = new Set([...Object.keys(r.mirrors), ...Object.entries(r.configs).filter(([, c]) => c.tls).map(([h]) => h)]);
    for (const registry of [...registries].sort(byCodePoint)) {
        const mirror = r.mirrors[registry];
        const lines = ["# written by dualstack (dualstack:registries)", `server = ${toml(defaultServer(registry))}`, ...tlsLines(r.configs[registry]?.tls)];
        for (const endpoint of mirror?.endpoint ?? []) {
            lines.push("", `[host.${toml(endpoint)}]`, 'capabilities = ["pull", "resolve"]', ...tlsLines(r.configs[endpointHost(endpoint)]?.tls));
        }
        files.push({ path: `${layout.hostsDir}/${registry}/hosts.toml`, content: lines.join("\n") + "\n", secret: false });
    }
    return files;
}

/** Where the registries step records the files it wrote, so a later run removes the ones it no longer writes. */
export const REGISTRY_MANIFEST = "/var/lib/dualstack/registries.files";

export interface RuntimeRestart {
    /** systemd unit that runs the container runtime on this node. */
    unit: string;
    /** Shell condition that holds once the node is back (e.g. its API answers). */
    ready: string;
    timeoutSeconds: number;
}

/** What a distribution adds around the shared write and remove lines (lines that change something set changed=true). */
export interface RegistryHooks {
    /** Write: checks that stop the step before anything is written. */
    check?: string[];
    /** Write: after the files are in place, before the restart (e.g. what makes the runtime read them). */
    afterWrite?: string[];
    /** Remove: before the files go (e.g. what makes the runtime read them, so it never points at a missing file). */
    beforeRemove?: string[];
    /** The hosts.toml directory, removed when it is left empty (k0s' unless given). */
    hostsDir?: string;
}

/**
 * Writes the registry files on one node: the secret file from stdin (root-only), the others
 * embedded (quoted), and removes files an earlier run wrote that are no longer planned. When
 * anything changed and the runtime already runs, it restarts it and waits until the node is back;
 * the component chains these steps so that only one node restarts at a time. A node that is not
 * installed yet just gets the files: k3s/k0s read them when they first start (kubeadm's containerd
 * already runs from host preparation, so it is restarted before the install).
 */
export function registriesWriteLines(files: HostFile[], restart: RuntimeRestart, hooks: RegistryHooks = {}): string[] {
    const stdinFiles = files.filter((f) => f.secret);
    if (stdinFiles.length > 1) throw new Error("only one registry file can arrive on stdin");
    const lines: string[] = [...(hooks.check ?? []), "changed=false", `mkdir -p ${q(REGISTRY_MANIFEST.slice(0, REGISTRY_MANIFEST.lastIndexOf("/")))}`];
    for (const f of files) {
        const next = `${f.path}.dualstack-new`;
        lines.push(`mkdir -p ${q(f.path.slice(0, f.path.lastIndexOf("/")))}`);
        if (f.secret) {
            lines.push(`(umask 077 && cat > ${q(next)})`, `if [ ! -s ${q(next)} ]; then rm -f ${q(next)}; echo ${q(`dualstack: no ${f.path} arrived on stdin`)} >&2; exit 1; fi`);
        } else {
            lines.push(`(umask 077 && printf '%s' ${q(f.content)} > ${q(next)})`);
        }
        lines.push(`if cmp -s ${q(next)} ${q(f.path)}; then rm -f ${q(next)}; else chmod 0600 ${q(next)}; mv -f ${q(next)} ${q(f.path)}; changed=true; fi`);
    }
    const planned = files.map((f) => f.path).sort(byCodePoint);
    lines.push(
        "# Files an earlier run wrote that are no longer planned (a removed mirror) go, with their empty directory.",
        `if [ -f ${q(REGISTRY_MANIFEST)} ]; then`,
        "    while read -r old; do",
        `        case "$old" in ${planned.map(q).join("|")}) ;; *) rm -f "$old"; rmdir "$(dirname "$old")" 2>/dev/null || true; changed=true ;; esac`,
        `    done < ${q(REGISTRY_MANIFEST)}`,
        "fi",
        `printf '%s\\n' ${planned.map(q).join(" ")} > ${q(REGISTRY_MANIFEST)}`,
        ...(hooks.afterWrite ?? []),
        ...restartLines(restart),
    );
    return lines;
}

/** Restarts a running runtime after a change and waits until the node is back. */
function restartLines(restart: RuntimeRestart): string[] {
    return [
        `if [ "$changed" = true ] && systemctl is-active --quiet ${q(restart.unit)} 2>/dev/null; then`,
        `    echo ${q(`dualstack: registry configuration changed; restarting ${restart.unit}`)}`,
        `    systemctl restart ${q(restart.unit)}`,
        ...waitUntil({ condition: restart.ready, timeoutSeconds: restart.timeoutSeconds, what: `${restart.unit} coming back after the registry change` }).map((l) => `    ${l}`),
        "fi",
    ];
}

/**
 * Removes exactly the files the registries step recorded (and their then-empty directories). When
 * only the registries leave the stack, the runtime still runs: it is restarted to drop them (the
 * steps are deleted one node after the other too). On destroy the node is uninstalled first (its
 * install depends on this step), so k3s/k0s are not restarted; kubeadm's containerd (host
 * preparation's, removed after this step) is.
 */
export function registriesRemoveLines(restart: RuntimeRestart, hooks: RegistryHooks = {}): string[] {
    return [
        "changed=false",
        ...(hooks.beforeRemove ?? []),
        `if [ -f ${q(REGISTRY_MANIFEST)} ]; then`,
        "    changed=true",
        "    while read -r old; do",
        '        rm -f "$old" "$old.dualstack-new"',
        '        rmdir "$(dirname "$old")" 2>/dev/null || true',
        `    done < ${q(REGISTRY_MANIFEST)}`,
        `    rm -f ${q(REGISTRY_MANIFEST)}`,
        "fi",
        `rmdir ${q(hooks.hostsDir ?? K0S_HOSTS_DIR)} ${q(REGISTRY_MANIFEST.slice(0, REGISTRY_MANIFEST.lastIndexOf("/")))} 2>/dev/null || true`,
        ...restartLines(restart),
    ];
}

/** The registry files under nodes/<node>/ for `npm run render` (the drop-in may hold credentials, so it is not plain stdin). */
export function registryFileArtifacts(nodeNames: string[], files: HostFile[]): Artifact[] {
    return nodeNames.flatMap((n) => files.map((f) => ({ path: `nodes/${n}/${f.path.replace(/^\/+/, "")}`, content: f.content })));
}

/** The secret input a registries step reads the file with credentials from. */
export const REGISTRIES_SECRET = "registries";

/**
 * A node's step that writes containerd registry files (k0s, kubeadm): the same script on create
 * and update, the file with credentials (if any) on stdin as a secret input, replaced before re-created.
 */
export function containerdRegistriesStep(s: { node: string; script: string; files: HostFile[]; create: string; delete: string; after: string[] }): CommandStep {
    return {
        kind: "command",
        id: `${s.node}-registries`,
        runsOn: s.node,
        script: s.script,
        create: s.create,
        update: s.create,
        delete: s.delete,
        ...(s.files.some((f) => f.secret) ? { stdin: { secret: REGISTRIES_SECRET }, secret: "stdin" as const } : {}),
        after: s.after,
        deleteBeforeReplace: true,
    };
}
