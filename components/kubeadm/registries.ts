// dualstack:registries on kubeadm: the host's containerd (components/registries.ts has the shared
// renderer and the write/remove lines). config.toml stays the host's (or host preparation's
// `containerd config default`); dualstack adds one entry to its `imports` and a root-only drop-in.
import { KUBEADM_KUBECTL } from "../distributions/kubeadm";
import type { Plan, PlannedNode } from "../plan";
import { containerdRegistryFiles, registriesRemoveLines, registriesWriteLines, type ContainerdRegistryLayout, type HostFile, type RegistryHooks, type RuntimeRestart } from "../registries";
import { q, script } from "../shell";
import { API_READY_TIMEOUT, CONTAINERD2_MINOR, CONTAINERD_CONFIG, CONTAINERD_DIR, NODE_JOIN_TIMEOUT } from "./scripts";

/**
 * containerd's registry host directory (`config_path`, containerd docs/hosts.md), one directory:
 * containerd 2's default `/etc/containerd/certs.d:/etc/docker/certs.d` is a list that the CRI
 * plugin's transfer-service pulls (the default pull path in 2.x) take as one literal directory, so
 * they would never find a hosts.toml there (containerd#12808, #12415; fixes not merged).
 */
export const CONTAINERD_HOSTS_DIR = `${CONTAINERD_DIR}/certs.d`;
/** The registry drop-in (root-only: it holds the credentials, if any) that config.toml imports. */
export const CONTAINERD_REGISTRY_DROPIN = `${CONTAINERD_DIR}/conf.d/dualstack-registries.toml`;

const REGISTRY_LAYOUT: ContainerdRegistryLayout = {
    dropIn: CONTAINERD_REGISTRY_DROPIN,
    hostsDir: CONTAINERD_HOSTS_DIR,
    header: `# written by dualstack (dualstack:registries); ${CONTAINERD_CONFIG} imports it, containerd merges it over that file`,
};

/**
 * The drop-in's containerd config version: 3 (plugin `io.containerd.cri.v1.images`, containerd
 * docs/cri/config.md for 2.x) where Kubernetes needs containerd 2 (prep checks it); before that 2,
 * which containerd 1.x reads and containerd 2 migrates when it loads the file.
 */
export function containerdConfigVersion(plan: Plan): 2 | 3 {
    return plan.kubernetes.minor >= CONTAINERD2_MINOR ? 3 : 2;
}

/** The registry files of every node: the drop-in (stdin when it holds credentials) and one hosts.toml per registry. */
export function registryFiles(plan: Plan): HostFile[] {
    return plan.registries ? containerdRegistryFiles(plan.registries, containerdConfigVersion(plan), REGISTRY_LAYOUT) : [];
}

/** The drop-in as config.toml's `imports` names it (a TOML basic string; the path needs no escapes). */
const IMPORT_ENTRY = JSON.stringify(CONTAINERD_REGISTRY_DROPIN);

/** Rewrites `config` through an awk program in place, keeping its inode and mode, and marks the change. */
function rewriteLines(config: string, awk: string): string[] {
    const next = `${config}.dualstack-new`;
    return [`    awk -v e=${q(IMPORT_ENTRY)} ${q(awk)} ${q(config)} > ${q(next)}`, `    cat ${q(next)} > ${q(config)}`, `    rm -f ${q(next)}`, "    changed=true"];
}

/**
 * Adds the drop-in to config.toml's top-level `imports` (containerd loads imported files after the
 * file and merges them over it, containerd-config.toml(5)): as the array's first entry when there is
 * one, else as a new `imports` line before the first table (root keys come before any table in
 * TOML). `imports = []` becomes `imports = ["<drop-in>", ]` (TOML allows the trailing comma).
 */
export function containerdImportAddLines(config = CONTAINERD_CONFIG): string[] {
    const awk = [
        '!done && /^[[:space:]]*\\[/ { print "imports = [" e "]"; done = 1 }',
        '!done && /^imports[[:space:]]*=[[:space:]]*\\[/ { i = index($0, "["); $0 = substr($0, 1, i) e ", " substr($0, i + 1); done = 1 }',
        "{ print }",
        'END { if (!done) print "imports = [" e "]" }',
    ].join("\n");
    return [`if ! ${importedTest(config)}; then`, ...rewriteLines(config, awk), "fi"];
}

/** True when the drop-in's entry is on a line that is not a comment (a commented-out entry imports nothing). */
function importedTest(config: string): string {
    const present = 'index($0, e) > 0 && $0 !~ /^[[:space:]]*#/ { found = 1 } END { exit !found }';
    return `awk -v e=${q(IMPORT_ENTRY)} ${q(present)} ${q(config)}`;
}

/** Undoes containerdImportAddLines exactly: the line it added, or the entry it put into an existing array. */
export function containerdImportRemoveLines(config = CONTAINERD_CONFIG): string[] {
    const awk = ['$0 == "imports = [" e "]" { next }', '/^imports[[:space:]]*=/ && (i = index($0, e ", ")) > 0 { $0 = substr($0, 1, i - 1) substr($0, i + length(e) + 2) }', "{ print }"].join("\n");
    return [`if [ -f ${q(config)} ] && ${importedTest(config)}; then`, ...rewriteLines(config, awk), "fi"];
}

/**
 * Stops before anything is written when config.toml is missing or older than the drop-in: containerd
 * refuses an imported file of a higher config version than the root file ("drop-in config version
 * higher than root config version", cmd/containerd/server/config LoadConfigWithPlugins) and would
 * not start again after the restart.
 */
export function configVersionCheckLines(plan: Plan, node: PlannedNode, config = CONTAINERD_CONFIG): string[] {
    const want = containerdConfigVersion(plan);
    return [
        `if [ ! -f ${q(config)} ]; then echo ${q(`dualstack: ${config} is missing on ${node.name}; host preparation (the node's prep step) writes it`)} >&2; exit 1; fi`,
        `cv=$(sed -n -E 's/^version[[:space:]]*=[[:space:]]*([0-9]+).*/\\1/p' ${q(config)} | head -n 1)`,
        `if [ "\${cv:-1}" -lt ${want} ]; then`,
        `    printf '%s%s%s\\n' ${q(`dualstack: ${config} on ${node.name} is containerd config version `)} "\${cv:-1}" ${q(`; the registry drop-in is version ${want}, and containerd refuses an import of a higher version than the file that imports it. Fix: migrate the file (containerd config migrate) or remove it so host preparation writes containerd's default`)} >&2`,
        "    exit 1",
        "fi",
    ];
}

/**
 * containerd reads its config only when it starts: a change restarts it (running containers keep
 * running in their shims) and waits until it answers, and on a control plane that has joined until
 * its API answers /readyz again. The component chains the nodes one at a time.
 */
function containerdRestart(node: PlannedNode): RuntimeRestart {
    const api = node.role === "control-plane" ? ` && { [ ! -f /etc/kubernetes/admin.conf ] || ${KUBEADM_KUBECTL} get --raw /readyz >/dev/null 2>&1; }` : "";
    return { unit: "containerd", ready: `ctr version >/dev/null 2>&1${api}`, timeoutSeconds: node.role === "control-plane" ? API_READY_TIMEOUT : NODE_JOIN_TIMEOUT };
}

function registryHooks(plan: Plan, node: PlannedNode): RegistryHooks {
    return { check: configVersionCheckLines(plan, node), afterWrite: containerdImportAddLines(), beforeRemove: containerdImportRemoveLines(), hostsDir: CONTAINERD_HOSTS_DIR };
}

/** Writes the drop-in (stdin when it holds credentials) and the hosts.toml files, then the import; a change restarts containerd. */
export function registriesCreateScript(plan: Plan, node: PlannedNode): string {
    return script(
        `# Registry mirrors for ${node.name}: ${CONTAINERD_REGISTRY_DROPIN} (imported by ${CONTAINERD_CONFIG}) and hosts.toml files under ${CONTAINERD_HOSTS_DIR}.`,
        registriesWriteLines(registryFiles(plan), containerdRestart(node), registryHooks(plan, node)),
    );
}

/** Removes the import first (containerd never points at a missing file), then exactly the files the step wrote. */
export function registriesDeleteScript(plan: Plan, node: PlannedNode): string {
    return script(registriesRemoveLines(containerdRestart(node), registryHooks(plan, node)));
}
