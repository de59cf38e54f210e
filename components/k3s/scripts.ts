// Every shell script the K3sCluster component runs on a host, as pure functions of the plan.
// POSIX sh, `set -eu` (shell.ts `script`), every value through `q`. The component wraps each body
// with shell.ts `remoteCommand`; render.ts writes the same bodies to out/<stack>/nodes/*/scripts.
//
// Upstream facts relied on (k3s-io/k3s install.sh, docs/installation/*):
// - install.sh takes the command (`server`/`agent`) as its first argument, pins the release with
//   INSTALL_K3S_VERSION, skips the download with INSTALL_K3S_SKIP_DOWNLOAD=true (binary already at
//   /usr/local/bin/k3s), and only restarts the service when the binary or unit changed unless
//   INSTALL_K3S_FORCE_RESTART=true: a changed config.yaml alone is NOT picked up without it.
// - It writes /usr/local/bin/k3s-uninstall.sh (server) or k3s-agent-uninstall.sh (agent), which
//   stop everything and remove /etc/rancher/k3s, /var/lib/rancher/k3s and the binary.
// - Air-gap: images go to /var/lib/rancher/k3s/agent/images/ (docs/installation/airgap.md).
import { calicoCleanupLines, cniDirsRecordLines, cniDirsRemoveLines, drainAndDeleteLines, secretFileFromStdinLines, stageDirCreateScript, stageDirDeleteScript, type UpgradeNodeOptions, waitUntil } from "../kube";
import { k3sInstallerLines } from "../installers";
import { registriesRemoveLines, registriesWriteLines, renderK3sRegistries, type RuntimeRestart } from "../registries";
import { q, script } from "../shell";
import { k3s, K3S_AIRGAP } from "../distributions/k3s";
import type { Plan, PlannedNode } from "../plan";

export const K3S_PATHS = {
    configDir: "/etc/rancher/k3s",
    config: "/etc/rancher/k3s/config.yaml",
    restartPending: "/etc/rancher/k3s/dualstack-restart-pending",
    /**
     * Named in config.yaml as `token-file`; root-only, filled from stdin. Outside /etc/rancher/k3s
     * on purpose: the uninstall scripts delete that directory, and a node that is replaced
     * (uninstall, then install) keeps its token step, which does not run again.
     */
    tokenDir: "/etc/dualstack",
    tokenFile: "/etc/dualstack/k3s-token",
    kubeconfig: "/etc/rancher/k3s/k3s.yaml",
    binary: "/usr/local/bin/k3s",
    serverUninstall: "/usr/local/bin/k3s-uninstall.sh",
    agentUninstall: "/usr/local/bin/k3s-agent-uninstall.sh",
    imagesDir: "/var/lib/rancher/k3s/agent/images",
    /** Air-gap staging: CopyToRemote runs as the SSH user, so it needs a directory that user owns. */
    airgapStage: "/var/lib/dualstack/k3s-airgap",
} as const;

/** The files `install.source: airgap` copies from `install.airgapDir` (images are optional). */
export const AIRGAP_FILES = K3S_AIRGAP;
/** Image tarballs as k3s publishes them: k3s-airgap-images-<arch>.tar[.gz|.zst]. */
export const AIRGAP_IMAGES = /^k3s-airgap-images[-.A-Za-z0-9_]*\.tar(\.gz|\.zst)?$/;

/** Bounds of the wait loops (seconds). Deadlines, not fixed sleeps: fast hosts go on at once. */
export const TIMEOUTS = {
    /** A server's API answering /readyz after (re)start; an etcd join can take a while. */
    apiReady: 300,
    /** A node showing up in the API with the pinned kubelet version after its install. */
    nodeJoin: 300,
    /** The API answering before a node is drained on delete. */
    apiOnDelete: 60,
    /** `kubectl drain`; past it the node is deleted anyway so destroy cannot hang on a PDB. */
    drain: 120,
};

/** The systemd unit/uninstall names install.sh derives from the command. */
export function roleOf(node: PlannedNode): "server" | "agent" {
    return node.role === "control-plane" ? "server" : "agent";
}

/** True when the local API server answers /readyz with `ok` (k3s kubectl reads k3s.yaml as root). */
const API_READY = `[ "$(k3s kubectl get --raw /readyz 2>/dev/null || true)" = ok ]`;

/** Writes the join token from stdin into the root-only token file (see secretFileFromStdinLines). */
export function tokenCreateScript(): string {
    return script(secretFileFromStdinLines(K3S_PATHS.tokenFile, "k3s join token"));
}

export function tokenDeleteScript(): string {
    const p = K3S_PATHS;
    return script(`rm -f ${q(p.tokenFile)} ${q(`${p.tokenFile}.dualstack-new`)}`, `rmdir ${q(p.tokenDir)} 2>/dev/null || true`);
}

/** Creates the staging directory CopyToRemote fills, owned by the SSH user (sftp writes as that user). */
export function airgapStageCreateScript(plan: Plan): string {
    return stageDirCreateScript(K3S_PATHS.airgapStage, plan.ssh.user);
}

export function airgapStageDeleteScript(): string {
    return stageDirDeleteScript(K3S_PATHS.airgapStage);
}

function fetchInstaller(plan: Plan): string[] {
    const p = K3S_PATHS;
    if (plan.install.source === "airgap") {
        const stage = K3S_PATHS.airgapStage;
        return [
            "# Air-gapped: the binary and images were staged by CopyToRemote; install.sh must not download.",
            `for f in ${q(`${stage}/${AIRGAP_FILES.installer}`)} ${q(`${stage}/${AIRGAP_FILES.binary}`)}; do`,
            `    if [ -f "$f" ]; then :; else echo "dualstack: $f was not staged (install.airgapDir must hold install.sh and k3s)" >&2; exit 1; fi`,
            "done",
            // install.sh hashes the binary only after we placed it, so it would see no change and
            // skip the restart an upgrade needs (k3s docs/upgrades/airgap: "restart the K3s service
            // if not restarted automatically"): a new binary sets the restart marker itself.
            `if cmp -s ${q(`${stage}/${AIRGAP_FILES.binary}`)} ${q(p.binary)}; then :; else`,
            // Copy then rename: overwriting a running binary in place fails with `Text file busy`.
            `    cp ${q(`${stage}/${AIRGAP_FILES.binary}`)} ${q(`${p.binary}.dualstack-new`)}`,
            `    chmod 0755 ${q(`${p.binary}.dualstack-new`)}`,
            `    mv -f ${q(`${p.binary}.dualstack-new`)} ${q(p.binary)}`,
            `    : > ${q(p.restartPending)}`,
            "fi",
            `for f in ${q(stage)}/k3s-airgap-images*; do`,
            `    if [ -f "$f" ]; then mkdir -p ${q(p.imagesDir)} && cp "$f" ${q(`${p.imagesDir}/`)}; fi`,
            "done",
            `installer=${q(`${stage}/${AIRGAP_FILES.installer}`)}`,
            "export INSTALL_K3S_SKIP_DOWNLOAD=true",
        ];
    }
    return k3sInstallerLines(plan.version, plan.install.sha256 ?? {});
}

/**
 * Install and in-place upgrade of one node (the Command's `create` and `update` are this same
 * script). stdin carries the rendered config.yaml. Idempotent: with the same config, version and
 * binary, install.sh leaves the running service alone; a changed config.yaml restarts it
 * (install.sh would not), a changed version replaces the binary and restarts it.
 */
export function installScript(plan: Plan, node: PlannedNode): string {
    return script(cniDirsRecordLines(), `node=${q(node.name)}`, `version=${q(plan.version)}`, configFromStdinLines(), installerRunLines(plan, node));
}

/** config.yaml from stdin, the token file checked; a changed config leaves the restart marker. */
function configFromStdinLines(): string[] {
    const p = K3S_PATHS;
    return [
        `mkdir -p ${q(p.configDir)}`,
        `(umask 077 && cat > ${q(`${p.config}.new`)})`,
        `if [ -s ${q(`${p.config}.new`)} ]; then :; else echo 'dualstack: no config.yaml arrived on stdin' >&2; exit 1; fi`,
        `if [ -s ${q(p.tokenFile)} ]; then :; else echo "dualstack: $node has no join token in ${p.tokenFile}" >&2; exit 1; fi`,
        // A changed config needs a restart that install.sh would skip; the marker keeps that need
        // across a failed run, so a retry still restarts.
        `if cmp -s ${q(`${p.config}.new`)} ${q(p.config)}; then rm -f ${q(`${p.config}.new`)}; else`,
        `    mv -f ${q(`${p.config}.new`)} ${q(p.config)}`,
        `    : > ${q(p.restartPending)}`,
        "fi",
    ];
}

/** install.sh of `$version` (pinned or staged), the version checked, a server's API awaited. */
function installerRunLines(plan: Plan, node: PlannedNode): string[] {
    const p = K3S_PATHS;
    const role = roleOf(node);
    const lines: (string | string[])[] = [
        fetchInstaller(plan),
        "restart=false",
        `if [ -e ${q(p.restartPending)} ]; then restart=true; fi`,
        `INSTALL_K3S_VERSION="$version" INSTALL_K3S_FORCE_RESTART="$restart" sh "$installer" ${role}`,
        "# The pinned tag must be what is installed now (an upgrade that kept the old binary fails here).",
        'case "$(k3s --version 2>/dev/null)" in',
        '    *"$version"*) ;;',
        `    *) echo "dualstack: $node runs $(k3s --version 2>/dev/null | head -n 1), expected $version" >&2; exit 1 ;;`,
        "esac",
    ];
    if (role === "server") {
        lines.push(
            "# The next server (or the agents) may only start once this API answers: etcd joins one at a time.",
            waitUntil({
                condition: API_READY,
                timeoutSeconds: TIMEOUTS.apiReady,
                what: `the k3s API on ${node.name} answering /readyz (see journalctl -u k3s there)`,
            }),
        );
    }
    lines.push(`rm -f ${q(p.restartPending)}`);
    return lines.flat();
}

/**
 * An agent's in-place change without its version (the install's `update`): a changed
 * config.yaml restarts k3s-agent with the binary it has. The version is the upgrade step's.
 */
export function agentReconfigureScript(node: PlannedNode): string {
    const p = K3S_PATHS;
    return script(
        `node=${q(node.name)}`,
        configFromStdinLines(),
        `if [ -e ${q(p.restartPending)} ]; then`,
        `    systemctl restart ${q(k3s.serviceUnits[node.role])}`,
        "fi",
        `rm -f ${q(p.restartPending)}`,
    );
}

/**
 * An agent's upgrade (its upgrade step, between drain and uncordon): nothing when it already runs
 * the pinned version; otherwise install.sh of that version over the config.yaml in place.
 */
export function agentUpgradeScript(plan: Plan, node: PlannedNode): string {
    return script(
        `node=${q(node.name)}`,
        `version=${q(plan.version)}`,
        // `k3s version v1.33.5+k3s1 (hash)`: the version followed by a space, so +k3s1 never matches +k3s10.
        'case "$(k3s --version 2>/dev/null || true)" in',
        '    *"k3s version $version "*) echo "dualstack: $node already runs k3s $version; nothing to upgrade"; exit 0 ;;',
        "esac",
        installerRunLines(plan, node),
    );
}

/** How the first control plane drains, awaits and uncordons a worker around its upgrade (batches.ts). */
export const upgradeNode = (plan: Plan, node: PlannedNode): UpgradeNodeOptions => ({
    kubectl: "k3s kubectl",
    node: node.name,
    kubeletVersion: plan.version,
    drainTimeoutSeconds: TIMEOUTS.drain,
    readyTimeoutSeconds: TIMEOUTS.nodeJoin,
});

/**
 * Uninstall of one node: the uninstall script install.sh wrote (if it is there), then what Calico
 * leaves behind, then our files. Safe to run twice and on a host where the install never ran.
 */
export function uninstallScript(node: PlannedNode): string {
    const p = K3S_PATHS;
    const uninstall = roleOf(node) === "server" ? p.serverUninstall : p.agentUninstall;
    return script(
        `if [ -x ${q(uninstall)} ]; then`,
        `    ${q(uninstall)}`,
        "else",
        `    echo ${q(`dualstack: ${uninstall} is not on ${node.name}; nothing of k3s to uninstall`)}`,
        "fi",
        // What Calico leaves behind: the k3s scripts only clean flannel, cni0 and KUBE-/CNI- rules.
        calicoCleanupLines(),
        cniDirsRemoveLines(),
        // The uninstall scripts keep /etc/rancher/node/password (the node's join password); the
        // node object and its password secret are gone by now (member delete), so it goes too.
        `rm -rf ${q(p.config)} ${q(`${p.config}.new`)} ${q(p.restartPending)} /etc/rancher/node`,
        // The uninstall scripts remove /var/lib/rancher/k3s but keep its (then empty) parent.
        `rmdir ${q(p.configDir)} /etc/rancher /var/lib/rancher 2>/dev/null || true`,
    );
}

/**
 * Runs on the first server once `node` is installed: waits until the node is registered (a server
 * with the pinned kubelet version). That makes `nodesJoined` true to its name and, after an
 * upgrade, holds the next server back until this one really runs the new version.
 */
export function memberCreateScript(plan: Plan, node: PlannedNode): string {
    if (node.role !== "control-plane") {
        // An agent's version is its upgrade step's (drain, upgrade, uncordon in batches): its
        // membership only waits for it to register, so a version change leaves it alone.
        return script(
            `node=${q(node.name)}`,
            waitUntil({
                condition: `k3s kubectl get node "$node" >/dev/null 2>&1`,
                timeoutSeconds: TIMEOUTS.nodeJoin,
                what: `node ${node.name} registering (see journalctl -u ${k3s.serviceUnits[node.role]} on ${node.name})`,
            }),
        );
    }
    const joined = `[ "$(k3s kubectl get node "$node" -o jsonpath='{.status.nodeInfo.kubeletVersion}' 2>/dev/null || true)" = "$version" ]`;
    return script(
        `node=${q(node.name)}`,
        `version=${q(plan.version)}`,
        waitUntil({
            condition: joined,
            timeoutSeconds: TIMEOUTS.nodeJoin,
            what: `node ${node.name} registering with kubelet ${plan.version} (see journalctl -u ${k3s.serviceUnits[node.role]} on ${node.name})`,
        }),
    );
}

/**
 * Runs on the first server before `node` is uninstalled: drain it and delete it from the cluster
 * while the API is up, so no cordoned NotReady node stays behind (xunleii/terraform-module-k3s#139)
 * and, for a server, k3s removes its etcd member: a (not forced) node deletion runs k3s' etcd
 * finalizer (k3s-io/k3s discussions 9818 and 14894); the uninstall right after keeps it from
 * rejoining. A drain that does not finish (PodDisruptionBudget, the last schedulable node) is
 * reported and the node deleted anyway, so destroy cannot hang (xunleii#138). `--delete-emptydir-data` replaces the removed `--delete-local-data` (xunleii#196).
 */
export function memberDeleteScript(plan: Plan, node: PlannedNode): string {
    return script(
        drainAndDeleteLines({
            kubectl: "k3s kubectl",
            binary: "k3s",
            apiReady: API_READY,
            node: node.name,
            runsOn: plan.firstControlPlane.name,
            apiTimeoutSeconds: TIMEOUTS.apiOnDelete,
            drainTimeoutSeconds: TIMEOUTS.drain,
        }),
    );
}

export const REGISTRIES_FILE = "/etc/rancher/k3s/registries.yaml";

/** registries.yaml for every node (stdin, a secret when it carries credentials). */
export function registriesContent(plan: Plan): string | undefined {
    return plan.registries ? renderK3sRegistries(plan.registries) : undefined;
}

/**
 * Writes /etc/rancher/k3s/registries.yaml from stdin; k3s reads it only at start, so a change
 * restarts a running k3s and waits until the node is back (the component chains these steps so
 * that one node restarts at a time).
 */
function runtimeOf(node: PlannedNode): RuntimeRestart {
    const server = roleOf(node) === "server";
    return { unit: server ? "k3s" : "k3s-agent", ready: server ? API_READY : "systemctl is-active --quiet k3s-agent", timeoutSeconds: TIMEOUTS.apiReady };
}

export function registriesCreateScript(node: PlannedNode): string {
    return script(registriesWriteLines([{ path: REGISTRIES_FILE, content: "", secret: true }], runtimeOf(node)));
}

export function registriesDeleteScript(node: PlannedNode): string {
    return script(registriesRemoveLines(runtimeOf(node)));
}

/** Prints the admin kubeconfig k3s wrote (the command runs with logging off, output secret). */
export function kubeconfigReadScript(): string {
    return script(`cat ${q(K3S_PATHS.kubeconfig)}`);
}
