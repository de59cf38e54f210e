// Pure helpers both cluster components (k3s, k0s) need: the kubeconfig server rewrite, a bounded
// wait loop for scripts, and the removal of what Calico leaves on a host. No Pulumi, no I/O.
import { parseDocument } from "yaml";
import { q, script } from "./shell";

/**
 * Points every cluster of a kubeconfig at `url` (e.g. `https://[fd00::10]:6443`, from net.ts
 * `httpsUrl`, so IPv6 stays bracketed). k3s writes `https://127.0.0.1:6443` and k0s the
 * `spec.api.address`; neither is necessarily reachable from the Pulumi runner. Everything else
 * (embedded certificates, contexts, users) is kept as it is. Text without any cluster (e.g. an
 * empty command output under the mock runtime) comes back unchanged.
 */
export function rewriteKubeconfigServer(kubeconfig: string, url: string): string {
    const doc = parseDocument(kubeconfig);
    if (doc.errors.length > 0) throw new Error(`the kubeconfig the cluster printed is not YAML: ${doc.errors[0].message}`);
    const clusters = doc.get("clusters");
    if (!clusters || typeof clusters !== "object" || !("items" in clusters)) return kubeconfig;
    let changed = false;
    for (const entry of (clusters as { items: unknown[] }).items) {
        const e = entry as { hasIn?: (p: string[]) => boolean; setIn?: (p: string[], v: unknown) => void };
        if (e.hasIn?.(["cluster", "server"])) {
            e.setIn!(["cluster", "server"], url);
            changed = true;
        }
    }
    return changed ? doc.toString() : kubeconfig;
}

export interface WaitOptions {
    /** A shell condition (already quoted where it carries values), e.g. `k0s status >/dev/null 2>&1`. */
    condition: string;
    /** Upper bound in seconds; the script fails with `what` when it passes. */
    timeoutSeconds: number;
    /** What is awaited, for the error message. */
    what: string;
    /** Seconds between attempts. */
    intervalSeconds?: number;
    /** Lines run before failing, e.g. a status dump to stderr. */
    onTimeout?: string[];
}

/**
 * POSIX sh lines that poll `condition` until it holds or the deadline passes. A deadline instead
 * of a fixed sleep: fast hosts continue at once, slow ones get the whole budget, broken ones fail
 * with a message that says what did not happen.
 */
export function waitUntil(o: WaitOptions): string[] {
    const interval = o.intervalSeconds ?? 2;
    return [
        `deadline=$(( $(date +%s) + ${Math.trunc(o.timeoutSeconds)} ))`,
        `until ${o.condition}; do`,
        `    if [ "$(date +%s)" -ge "$deadline" ]; then`,
        ...(o.onTimeout ?? []).map((l) => `        ${l}`),
        `        echo ${q(`dualstack: ${o.what} did not happen within ${Math.trunc(o.timeoutSeconds)}s`)} >&2`,
        "        exit 1",
        "    fi",
        `    sleep ${interval}`,
        "done",
    ];
}

/** CNI files Calico's install-cni container writes (k0s-managed and operator-managed alike). */
export const CALICO_CNI_FILES = [
    "/etc/cni/net.d/10-calico.conflist",
    "/etc/cni/net.d/calico-kubeconfig",
    "/etc/cni/net.d/calico-tls",
    "/opt/cni/bin/calico",
    "/opt/cni/bin/calico-ipam",
];

/**
 * The CNI directories (parents first) install-cni writes into; its hostPath volumes create them
 * when missing (type DirectoryOrCreate), and nothing removes them again.
 */
export const CNI_DIRS = ["/etc/cni", "/etc/cni/net.d", "/opt/cni", "/opt/cni/bin"];
/** Which of CNI_DIRS a node lacked before its install: only those may go on its delete. */
export const CNI_DIRS_STATE = "/var/lib/dualstack/cni-dirs.absent";

/** Before an install: records, once, the CNI directories that are not there yet (`root`: tests only). */
export function cniDirsRecordLines(root = ""): string[] {
    const state = `${root}${CNI_DIRS_STATE}`;
    return [
        `if [ ! -f ${q(state)} ]; then`,
        `    mkdir -p ${q(state.slice(0, state.lastIndexOf("/")))}`,
        `    for d in ${CNI_DIRS.map((d) => q(root + d)).join(" ")}; do if [ ! -e "$d" ]; then echo "$d"; fi; done > ${q(`${state}.new`)}`,
        `    mv -f ${q(`${state}.new`)} ${q(state)}`,
        "fi",
    ];
}

/** After Calico's files are gone: removes the recorded CNI directories that are empty, children first. */
export function cniDirsRemoveLines(root = ""): string[] {
    const state = `${root}${CNI_DIRS_STATE}`;
    return [
        `if [ -f ${q(state)} ]; then`,
        `    for d in ${[...CNI_DIRS].reverse().map((d) => q(root + d)).join(" ")}; do`,
        `        if grep -qxF "$d" ${q(state)}; then rmdir "$d" 2>/dev/null || true; fi`,
        "    done",
        `    rm -f ${q(state)}`,
        "fi",
        `rmdir ${q(state.slice(0, state.lastIndexOf("/")))} 2>/dev/null || true`,
    ];
}

/** Host directories calico-node mounts and fills. */
export const CALICO_STATE_DIRS = ["/var/lib/calico", "/var/run/calico", "/run/calico", "/var/log/calico"];

/**
 * Removes iptables and ip6tables chains whose names start with one of `chainPrefixes`, every rule
 * that jumps to them, and rules tagged with a comment starting with one of `commentPrefixes`.
 * Tables without a match are not touched; without the iptables tools there is nothing to do.
 */
export function iptablesCleanupLines(chainPrefixes: string[], commentPrefixes: string[] = []): string[] {
    for (const p of [...chainPrefixes, ...commentPrefixes]) {
        // Code constants, not config values: kept literal so the ERE below stays readable.
        if (!/^[A-Za-z0-9:_-]+$/.test(p)) throw new Error(`unsupported chain or comment prefix ${p}`);
    }
    const patterns = [
        ...chainPrefixes.flatMap((c) => [`^:${c}`, `^-A ${c}`, `-j ${c}`]),
        ...commentPrefixes.map((c) => `--comment "?${c}`),
    ];
    const grep = `grep -v -E ${patterns.map((p) => `-e '${p}'`).join(" ")}`;
    const any = [...chainPrefixes, ...commentPrefixes].map((p) => `*${p}*`).join("|");
    return [
        "for tool in iptables ip6tables; do",
        "    if ! command -v \"$tool-save\" >/dev/null 2>&1 || ! command -v \"$tool-restore\" >/dev/null 2>&1; then continue; fi",
        "    for table in raw mangle nat filter; do",
        "        rules=$(\"$tool-save\" -t \"$table\" 2>/dev/null) || continue",
        `        case "$rules" in ${any}) ;; *) continue ;; esac`,
        `        printf '%s\\n' "$rules" | ${grep} | "$tool-restore"`,
        "    done",
        "done",
    ];
}

/**
 * Removes what Calico leaves on a host after its cluster is gone: k0s reset and the k3s uninstall
 * scripts do not (k0s#823; replicatedhq/embedded-cluster#3894: k0s only removes the conflist; a
 * leftover vxlan.calico broke re-joins in kubespray#9103). Interfaces (cali*, vxlan.calico,
 * vxlan-v6.calico, tunl0), routes BIRD and Felix installed (proto bird, proto 80), iptables and
 * ip6tables chains and rules (cali-*, `cali:` comments), Calico's nftables tables, ipsets, CNI
 * files and state directories. Every step tolerates absence, so it is safe to run twice. tunl0
 * belongs to the ipip module and cannot always be deleted; it is set down instead.
 */
export function calicoCleanupLines(): string[] {
    return [
        "# Calico leftovers: interfaces first (their routes go with them), then rules, sets, files.",
        "for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//'); do",
        "    case \"$link\" in",
        "        cali*|vxlan.calico|vxlan-v6.calico|tunl0)",
        "            ip link delete \"$link\" 2>/dev/null || ip link set \"$link\" down 2>/dev/null || true ;;",
        "    esac",
        "done",
        "for family in -4 -6; do",
        "    for proto in bird 80; do",
        "        ip \"$family\" route flush proto \"$proto\" 2>/dev/null || true",
        "    done",
        "done",
        ...iptablesCleanupLines(["cali-"], ["cali:"]),
        "if command -v nft >/dev/null 2>&1; then",
        "    nft list tables 2>/dev/null | awk '$3 ~ /^cali/ {print $2, $3}' | while read -r family table; do",
        "        nft delete table \"$family\" \"$table\" 2>/dev/null || true",
        "    done",
        "fi",
        "if command -v ipset >/dev/null 2>&1; then",
        "    for set in $(ipset list -n 2>/dev/null | grep '^cali'); do",
        "        ipset destroy \"$set\" 2>/dev/null || true",
        "    done",
        "fi",
        `rm -rf ${CALICO_CNI_FILES.map(q).join(" ")}`,
        `rm -rf ${CALICO_STATE_DIRS.map(q).join(" ")}`,
    ];
}

/**
 * A staging directory that remote.CopyToRemote fills. sftp writes as the SSH user and does not
 * create parent directories, so the directory is made first and owned by that user.
 */
export function stageDirCreateScript(dir: string, sshUser: string): string {
    return script(`mkdir -p ${q(dir)}`, `chown ${q(sshUser)} ${q(dir)}`, `chmod 0700 ${q(dir)}`);
}

export function stageDirDeleteScript(dir: string): string {
    return script(`rm -rf ${q(dir)}`, `rmdir ${q(dir.slice(0, dir.lastIndexOf("/")))} 2>/dev/null || true`);
}

/**
 * Writes a secret that arrives on stdin into a root-only file. stdin (not argv, not the
 * environment) keeps it out of `ps`, shell history, the provider's error text (which quotes the
 * command) and sshd's AcceptEnv rules. An unchanged secret leaves the file untouched.
 */
export function secretFileFromStdinLines(file: string, what: string): string[] {
    const dir = file.slice(0, file.lastIndexOf("/"));
    const next = `${file}.dualstack-new`;
    return [
        `mkdir -p ${q(dir)}`,
        `(umask 077 && cat > ${q(next)})`,
        `if [ ! -s ${q(next)} ]; then`,
        `    rm -f ${q(next)}`,
        `    echo ${q(`dualstack: no ${what} arrived on stdin`)} >&2`,
        "    exit 1",
        "fi",
        `if cmp -s ${q(next)} ${q(file)}; then rm -f ${q(next)}; else`,
        `    chmod 0600 ${q(next)}`,
        `    mv -f ${q(next)} ${q(file)}`,
        "fi",
    ];
}

export interface DrainOptions {
    /** The distribution's kubectl, already quoted where needed, e.g. `k3s kubectl`. */
    kubectl: string;
    /** The distribution's binary; when it is gone, so is the cluster, and there is nothing to drain. */
    binary: string;
    /** A shell condition that holds when the API answers. */
    apiReady: string;
    node: string;
    /** The node the step runs on (the first control plane). */
    runsOn: string;
    apiTimeoutSeconds: number;
    drainTimeoutSeconds: number;
}

/**
 * Drains a node and deletes it from the cluster, for a node's delete step. The API must answer
 * within a deadline (a failure says how to skip the step); a drain that does not finish is
 * reported and the node is deleted anyway, so a PodDisruptionBudget cannot hang a destroy.
 */
export function drainAndDeleteLines(o: DrainOptions): string[] {
    return [
        `node=${q(o.node)}`,
        `if ! command -v ${q(o.binary)} >/dev/null 2>&1; then`,
        `    echo ${q(`dualstack: ${o.binary} is no longer on ${o.runsOn}; the cluster is gone, nothing to remove for ${o.node}`)}`,
        "    exit 0",
        "fi",
        ...waitUntil({
            condition: o.apiReady,
            timeoutSeconds: o.apiTimeoutSeconds,
            what: `the API on ${o.runsOn} answering, so that ${o.node} can be drained and deleted (bring the API back, or skip this step with pulumi destroy --continue-on-error)`,
        }),
        `if ${o.kubectl} get node "$node" >/dev/null 2>&1; then`,
        ...boundedDrainLines(o.kubectl, o.drainTimeoutSeconds, "deleting the node anyway").map((l) => `    ${l}`),
        `    ${o.kubectl} delete node "$node" --ignore-not-found`,
        "else",
        '    echo "dualstack: node $node is not in the cluster; nothing to drain"',
        "fi",
    ];
}

/**
 * The one bounded drain (node in `$node`): `kubectl drain` cordons, evicts and gives up after the
 * deadline with a warning saying what happens next, so a PodDisruptionBudget or the last
 * schedulable node cannot hang a destroy or an upgrade (xunleii/terraform-module-k3s#138).
 */
function boundedDrainLines(kubectl: string, timeoutSeconds: number, then: string): string[] {
    return [
        `if ! ${kubectl} drain "$node" --ignore-daemonsets --delete-emptydir-data --force --timeout=${timeoutSeconds}s; then`,
        `    echo "dualstack: warning: draining $node did not finish within ${timeoutSeconds}s; ${then}" >&2`,
        "fi",
    ];
}

/** Annotation an upgrade sets on a node it cordoned, so that only its own cordon is lifted again. */
export const UPGRADE_CORDON_ANNOTATION = "dualstack.io/upgrade-cordoned";

export interface UpgradeNodeOptions {
    /** The distribution's kubectl (run on the first control plane), already quoted. */
    kubectl: string;
    node: string;
    /**
     * The kubelet version the node runs once upgraded. A node reporting it, or it followed by
     * `+...` (k0s' kubelets say v1.36.3+k0s for v1.36.3+k0s.2), needs nothing.
     */
    kubeletVersion: string;
    drainTimeoutSeconds: number;
    readyTimeoutSeconds: number;
}

const KUBELET_VERSION_OF = (kubectl: string) => `$(${kubectl} get node "$node" -o jsonpath='{.status.nodeInfo.kubeletVersion}' 2>/dev/null || true)`;
const RUNS_TARGET = 'case "$have" in "$want" | "$want"+*) true ;; *) false ;; esac';

/**
 * Before a worker's upgrade, on the first control plane: nothing when the node's kubelet already
 * runs the target version (a first up, a re-run); otherwise mark the node (unless someone else
 * had cordoned it already) and drain it with the shared bounded drain.
 */
export function upgradeDrainLines(o: UpgradeNodeOptions): string[] {
    const a = q(UPGRADE_CORDON_ANNOTATION);
    return [
        `node=${q(o.node)}`,
        `want=${q(o.kubeletVersion)}`,
        `have=${KUBELET_VERSION_OF(o.kubectl)}`,
        `if ${RUNS_TARGET}; then`,
        // A node an earlier, failed upgrade drained (its mark still on it) that runs the target now,
        // e.g. after the pin went back: its upgrade and uncordon steps may not run again, so lift it here.
        `    if [ -n "$(${o.kubectl} get node "$node" -o jsonpath='{.metadata.annotations.${UPGRADE_CORDON_ANNOTATION.replace(/\./g, "\\.")}}' 2>/dev/null || true)" ]; then`,
        `        ${o.kubectl} uncordon "$node"`,
        `        ${o.kubectl} annotate node "$node" ${a}-`,
        "    fi",
        '    echo "dualstack: $node already runs kubelet $have; nothing to drain"',
        "    exit 0",
        "fi",
        `if [ "$(${o.kubectl} get node "$node" -o jsonpath='{.spec.unschedulable}')" != true ]; then`,
        `    ${o.kubectl} annotate node "$node" ${a}=true --overwrite`,
        "fi",
        ...boundedDrainLines(o.kubectl, o.drainTimeoutSeconds, "upgrading it anyway"),
    ];
}

/**
 * After a worker's upgrade, on the first control plane: wait until the node reports the target
 * kubelet version; if the upgrade cordoned it, wait until it is Ready and uncordon it. A node
 * that needed no upgrade carries no mark, so nothing happens to it (nor to a cordon of its owner).
 */
export function upgradeUncordonLines(o: UpgradeNodeOptions): string[] {
    const a = q(UPGRADE_CORDON_ANNOTATION);
    const ready = `[ "$(${o.kubectl} get node "$node" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true)" = True ]`;
    return [
        `node=${q(o.node)}`,
        `want=${q(o.kubeletVersion)}`,
        ...waitUntil({
            condition: `{ have=${KUBELET_VERSION_OF(o.kubectl)}; ${RUNS_TARGET}; }`,
            timeoutSeconds: o.readyTimeoutSeconds,
            what: `node ${o.node} running kubelet ${o.kubeletVersion}`,
        }),
        `if [ -n "$(${o.kubectl} get node "$node" -o jsonpath='{.metadata.annotations.${UPGRADE_CORDON_ANNOTATION.replace(/\./g, "\\.")}}')" ]; then`,
        ...waitUntil({ condition: ready, timeoutSeconds: o.readyTimeoutSeconds, what: `node ${o.node} Ready after its upgrade` }).map((l) => `    ${l}`),
        `    ${o.kubectl} uncordon "$node"`,
        `    ${o.kubectl} annotate node "$node" ${a}-`,
        "fi",
    ];
}
