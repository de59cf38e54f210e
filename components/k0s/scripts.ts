// Every shell script the K0sCluster runs on a host, as pure functions of the plan. POSIX sh,
// `set -eu` (shell.ts `script`), every value through `q`. The component wraps each body with
// `remoteCommand`; render.ts writes the same bodies to out/<stack>/nodes/<node>/scripts/.
// k0s facts: docs/install.md, docs/k0s-multi-node.md, docs/reset.md, cmd/install/*.go,
// cmd/token/create.go (k0sproject/k0s); get.k0s.sh is k0sproject/get index.html.
import { calicoCleanupLines, cniDirsRecordLines, cniDirsRemoveLines, drainAndDeleteLines, iptablesCleanupLines, secretFileFromStdinLines, stageDirCreateScript, stageDirDeleteScript, type UpgradeNodeOptions, waitUntil } from "../kube";
import { k0s } from "../distributions/k0s";
import type { Plan, PlannedNode } from "../plan";
import { k0sBinaryLines } from "../installers";
import { K0S_REGISTRY_DROPIN, k0sRegistryFiles, registriesRemoveLines, registriesWriteLines, type HostFile, type RuntimeRestart } from "../registries";
import { k0sBackupCreateLines, k0sBackupDeleteLines } from "../snapshots";
import { q, qa, script } from "../shell";
import { isSingleNode, K0S_CONFIG_PATH } from "./k0sconfig";

/** get.k0s.sh hard-codes /usr/local/bin (it ignores K0S_INSTALL_PATH). */
export const K0S_BIN = "/usr/local/bin/k0s";
/**
 * Air-gapped installs stage the binary here (remote.CopyToRemote) and the install step copies it
 * into place: copying straight onto /usr/local/bin/k0s fails with ETXTBSY while k0s runs, which
 * is exactly the moment of an upgrade. The stage step's delete removes the folder.
 */
export const K0S_AIRGAP_STAGE = "/var/lib/dualstack/k0s-airgap";
export const K0S_STAGED_BIN = `${K0S_AIRGAP_STAGE}/k0s`;

/** The staging directory for the air-gapped binary, owned by the SSH user (sftp writes as that user). */
export function airgapStageCreateScript(plan: Plan): string {
    return stageDirCreateScript(K0S_AIRGAP_STAGE, plan.ssh.user);
}

export function airgapStageDeleteScript(): string {
    return stageDirDeleteScript(K0S_AIRGAP_STAGE);
}
/** Join token of a joining node: written from stdin, root-only, read by k0s on first start. */
export const K0S_TOKEN_FILE = "/etc/k0s/join-token";
/**
 * What the service was last written with: the `k0s install` argv and, on a controller, the hash
 * of k0s.yaml it started on. A worker's reconfigure and a controller's upgrade compare it.
 */
export const K0S_INSTALL_ARGS_FILE = "/etc/k0s/dualstack-install-args";
/** A code constant without shell metacharacters: written into scripts as is. */
export const GET_K0S_URL = "https://get.k0s.sh";

/** Seconds to wait for a controller's API (/readyz), a worker's k0s, a node to register / be Ready. */
export const API_READY_TIMEOUT = 600;
export const WORKER_READY_TIMEOUT = 300;
export const NODE_JOIN_TIMEOUT = 600;
/** Upper bound of a node drain on destroy; the node is reset afterwards either way. */
export const DRAIN_TIMEOUT = 120;
/** How long a node's delete waits for the API before it fails (and says how to skip it). */
export const API_ON_DELETE_TIMEOUT = 60;

/** The controller every other node joins through, and which reads tokens and the kubeconfig. */
export function isFirstController(plan: Plan, node: PlannedNode): boolean {
    return node.name === plan.firstControlPlane.name;
}

/** Nodes that join with a token: everyone but the first controller. */
export function joinsWithToken(plan: Plan, node: PlannedNode): boolean {
    return !isFirstController(plan, node);
}

/**
 * kubelet flags k0s passes through (`--kubelet-extra-args`, split on spaces, keys with `--`:
 * pkg/component/worker/kubelet.go checks `ExtraArgs["--node-ip"]`). Without `--node-ip`, k0s
 * >= v1.35.1 fails hard on dual-stack unless the node name resolves to A and AAAA (commit
 * efac0a7fce). `--hostname-override` pins the node name to the plan's (k0s reads it from these
 * args for its own node name, cmd/worker), so drain/delete on destroy name the right Node.
 */
export function kubeletExtraArgs(plan: Plan, node: PlannedNode): string {
    return [
        `--node-ip=${node.nodeIps.join(",")}`,
        `--hostname-override=${node.name}`,
        ...plan.cluster.extraArgs.kubelet.map((a) => `--${a}`),
    ].join(" ");
}

/** The argv after `k0s install`, e.g. `controller -c /etc/k0s/k0s.yaml --enable-worker ...`. */
export function installArgs(plan: Plan, node: PlannedNode): string[] {
    const args: string[] = [];
    if (node.role === "control-plane") {
        args.push("controller", "-c", K0S_CONFIG_PATH);
        // --single: kine, no join API; `k0s token create` refuses on it ("cannot join into a
        // single node cluster"), so only a one-node stack gets it.
        if (isSingleNode(plan)) args.push("--single");
        else if (plan.cluster.controllersRunWorkloads) args.push("--enable-worker", "--no-taints");
    } else {
        args.push("worker");
    }
    if (joinsWithToken(plan, node)) args.push("--token-file", K0S_TOKEN_FILE);
    args.push(`--kubelet-extra-args=${kubeletExtraArgs(plan, node)}`);
    const labels = Object.entries(node.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (labels.length > 0) args.push(`--labels=${labels.map(([k, v]) => `${k}=${v}`).join(",")}`);
    if (node.taints.length > 0) args.push(`--taints=${node.taints.join(",")}`);
    return args;
}

/** k0s' service name for this node (install.InstallService: k0s<role>). */
export function serviceName(node: PlannedNode): string {
    return k0s.serviceUnits[node.role];
}

function installBinaryLines(plan: Plan): string[] {
    const want = q(plan.version);
    if (plan.install.source === "airgap") {
        return [
            `if ! cmp -s ${q(K0S_STAGED_BIN)} ${q(K0S_BIN)}; then`,
            `    cp ${q(K0S_STAGED_BIN)} ${q(`${K0S_BIN}.dualstack-new`)}`,
            `    chmod 0755 ${q(`${K0S_BIN}.dualstack-new`)}`,
            `    mv -f ${q(`${K0S_BIN}.dualstack-new`)} ${q(K0S_BIN)}`,
            "fi",
            `have=$(${q(K0S_BIN)} version)`,
            `if [ "$have" != ${want} ]; then`,
            `    echo "dualstack: the k0s binary in install.airgapDir is $have, but dualstack:version is "${want} >&2`,
            "    exit 1",
            "fi",
        ];
    }
    return [
        `if [ "$(${q(K0S_BIN)} version 2>/dev/null || true)" != ${want} ]; then`,
        // The tag's release binary, checked against the release's sha256sums.txt (installers.ts).
        ...k0sBinaryLines(plan.version, plan.install.sha256 ?? {}, K0S_BIN).map((l) => `    ${l}`),
        "fi",
    ];
}

function writeTokenLines(): string[] {
    return ["# The join token arrives on stdin: never in argv, the environment or a log.", ...secretFileFromStdinLines(K0S_TOKEN_FILE, "k0s join token")];
}

function readyLines(plan: Plan, node: PlannedNode): string[] {
    if (node.role === "control-plane") {
        return waitUntil({
            condition: `${q(K0S_BIN)} kubectl get --raw /readyz >/dev/null 2>&1`,
            timeoutSeconds: API_READY_TIMEOUT,
            what: `the Kubernetes API on ${node.name} answering /readyz`,
            onTimeout: [`${q(K0S_BIN)} status >&2 || true`],
        });
    }
    return waitUntil({
        condition: `${q(K0S_BIN)} status >/dev/null 2>&1`,
        timeoutSeconds: WORKER_READY_TIMEOUT,
        what: `k0s worker on ${node.name} running`,
        onTimeout: [`${q(K0S_BIN)} status >&2 || true`],
    });
}

function configCheckLines(configSha256: string | undefined): string[] {
    if (!configSha256) return [];
    // The config step wrote k0s.yaml; refuse to (re)start on anything else. The hash also makes a
    // config change an update of this step, i.e. a restart that picks the new config up.
    return [`echo ${q(`${configSha256}  ${K0S_CONFIG_PATH}`)} | sha256sum -c --status - || { echo ${q(`dualstack: ${K0S_CONFIG_PATH} is not the planned config (sha256 ${configSha256})`)} >&2; exit 1; }`];
}

function startLines(): string[] {
    return [`if ! ${q(K0S_BIN)} status >/dev/null 2>&1; then`, `    ${q(K0S_BIN)} start`, "fi"];
}

function stopLines(): string[] {
    return [`if [ -x ${q(K0S_BIN)} ] && ${q(K0S_BIN)} status >/dev/null 2>&1; then`, `    ${q(K0S_BIN)} stop`, "fi"];
}

/** The line K0S_INSTALL_ARGS_FILE holds for these flags (and config hash). */
function serviceState(plan: Plan, node: PlannedNode, configSha256?: string): string {
    return `${qa(installArgs(plan, node))}${configSha256 ? ` # k0s.yaml sha256 ${configSha256}` : ""}`;
}

/** `k0s install` with the planned flags (--force: rewrite an existing service), then what it was written with recorded. */
function serviceInstallLines(plan: Plan, node: PlannedNode, configSha256?: string): string[] {
    return [
        `${q(K0S_BIN)} install ${qa(installArgs(plan, node))} --force`,
        `mkdir -p ${q("/etc/k0s")}`,
        `printf '%s\\n' ${q(serviceState(plan, node, configSha256))} >${q(K0S_INSTALL_ARGS_FILE)}`,
    ];
}

/** True when the recorded service state is this one. */
const sameServiceState = (plan: Plan, node: PlannedNode, configSha256?: string) =>
    `[ "$(cat ${q(K0S_INSTALL_ARGS_FILE)} 2>/dev/null || true)" = ${q(serviceState(plan, node, configSha256))} ]`;

/**
 * First install of k0s on a node: binary, (token), service, start, bounded wait. Safe to run
 * twice: the binary is only fetched when the version differs, the service is (re)written with
 * `--force`, and start is skipped when k0s already runs.
 */
export function installScript(plan: Plan, node: PlannedNode, configSha256?: string): string {
    return script(
        `# k0s ${plan.version} on ${node.name} (${node.role}): install, start, wait until ready.`,
        cniDirsRecordLines(),
        installBinaryLines(plan),
        joinsWithToken(plan, node) ? writeTokenLines() : [],
        configCheckLines(configSha256),
        serviceInstallLines(plan, node, configSha256),
        startLines(),
        readyLines(plan, node),
    );
}

/**
 * In-place change (version upgrade, changed flags or config): stop, new binary, rewrite the
 * service, start, wait. The component orders controllers one at a time, then the workers.
 */
export function upgradeScript(plan: Plan, node: PlannedNode, configSha256?: string): string {
    // Also the controller install's update for any other input change (a new SSH key): a controller
    // already running this version, flags and config is left alone rather than stopped and started.
    const current = [
        `if [ "$(${q(K0S_BIN)} version 2>/dev/null || true)" = ${q(plan.version)} ] && ${sameServiceState(plan, node, configSha256)} && ${q(K0S_BIN)} status >/dev/null 2>&1; then`,
        `    echo ${q(`dualstack: ${node.name} already runs k0s ${plan.version} with these flags and this config; nothing to upgrade`)}`,
        "    exit 0",
        "fi",
    ];
    return script(current, upgradeLines(plan, node, configSha256));
}

function upgradeLines(plan: Plan, node: PlannedNode, configSha256?: string): string[] {
    return [
        `# k0s ${plan.version} on ${node.name} (${node.role}): in-place upgrade / reconfigure.`,
        // The token file stays in place: a joined node does not read it again.
        ...stopLines(),
        ...installBinaryLines(plan),
        ...configCheckLines(configSha256),
        ...serviceInstallLines(plan, node, configSha256),
        ...startLines(),
        ...readyLines(plan, node),
    ];
}

/**
 * A worker's in-place change without its version (the install's `update`): when the planned flags
 * differ from those the service was written with, rewrite it and restart with the binary it has;
 * otherwise nothing (a version change updates the install too, and must not restart every worker
 * at once: the version is the upgrade steps', batch by batch).
 */
export function workerReconfigureScript(plan: Plan, node: PlannedNode): string {
    return script(
        `# k0s on ${node.name} (worker): reconfigure with the binary in place, if its flags changed.`,
        `if ${sameServiceState(plan, node)}; then`,
        `    echo ${q(`dualstack: ${node.name}: the k0s service already has these flags; nothing to reconfigure`)}`,
        "    exit 0",
        "fi",
        stopLines(),
        serviceInstallLines(plan, node),
        startLines(),
        readyLines(plan, node),
    );
}

/**
 * A worker's upgrade (its upgrade step, between drain and uncordon): nothing when the binary is
 * already the pinned version; otherwise the in-place upgrade.
 */
export function workerUpgradeScript(plan: Plan, node: PlannedNode): string {
    return script(
        `if [ "$(${q(K0S_BIN)} version 2>/dev/null || true)" = ${q(plan.version)} ]; then`,
        `    echo ${q(`dualstack: ${node.name} already runs k0s ${plan.version}; nothing to upgrade`)}`,
        "    exit 0",
        "fi",
        upgradeLines(plan, node),
    );
}

/** How the first control plane drains, awaits and uncordons a worker around its upgrade (batches.ts). */
export const upgradeNode = (plan: Plan, node: PlannedNode): UpgradeNodeOptions => ({
    kubectl: `${q(K0S_BIN)} kubectl`,
    node: node.name,
    // k0s' kubelets report the Kubernetes version with `+k0s` (v1.36.3+k0s for v1.36.3+k0s.2).
    kubeletVersion: plan.version.split("+")[0],
    drainTimeoutSeconds: DRAIN_TIMEOUT,
    readyTimeoutSeconds: NODE_JOIN_TIMEOUT,
});

/**
 * Undo of the install: (extra controllers leave etcd first), `k0s stop`, `k0s reset`, then what
 * reset leaves: Calico and kube-proxy leftovers (k0s#823, docs/reset.md "Custom CNI plugins are
 * not cleaned up"), the token file, the binary. Runs after the node was drained and deleted
 * from the cluster (the join step's delete) and tolerates a half-installed node.
 */
export function resetScript(plan: Plan, node: PlannedNode): string {
    const unit = serviceName(node);
    const leaveEtcd = node.role === "control-plane" && !isFirstController(plan, node) && !isSingleNode(plan);
    return script(
        `# Remove k0s from ${node.name}: stop, reset, and what reset leaves behind.`,
        `if [ -x ${q(K0S_BIN)} ]; then`,
        ...(leaveEtcd
            ? [
                  // Without this the remaining controllers keep a dead etcd member and lose quorum
                  // sooner (k0sctl does the same before resetting a controller).
                  `    if ${q(K0S_BIN)} status >/dev/null 2>&1; then`,
                  `        ${q(K0S_BIN)} etcd leave || echo ${q(`dualstack: ${node.name} could not leave etcd; remove its member by hand if the cluster lives on`)} >&2`,
                  "    fi",
              ]
            : []),
        ...stopLines().map((l) => `    ${l}`),
        `    if [ -e ${q(`/etc/systemd/system/${unit}.service`)} ] || [ -e ${q(`/etc/init.d/${unit}`)} ] || [ -d /var/lib/k0s ]; then`,
        `        ${q(K0S_BIN)} reset`,
        "    fi",
        "fi",
        calicoCleanupLines(),
        cniDirsRemoveLines(),
        "# kube-proxy's chains and IPVS dummy interface: k0s reset leaves iptables rules (docs/reset.md).",
        iptablesCleanupLines(["KUBE-"]),
        "ip link delete kube-ipvs0 2>/dev/null || true",
        // Only what install put there: the staged binary belongs to the stage and copy steps, which a
        // replaced install (e.g. a new node-ip) does not replace; the new install copies it again.
        `rm -f ${q(K0S_TOKEN_FILE)} ${q(`${K0S_TOKEN_FILE}.dualstack-new`)} ${q(K0S_INSTALL_ARGS_FILE)} ${q(K0S_BIN)} ${q(`${K0S_BIN}.dualstack-new`)}`,
        `rmdir ${q("/etc/k0s")} 2>/dev/null || true`,
    );
}

/** Writes stdin (the rendered k0s.yaml) to /etc/k0s/k0s.yaml, atomically. */
export function configWriteScript(): string {
    return script(
        `# ${K0S_CONFIG_PATH} arrives on stdin (the rendered ClusterConfig).`,
        "umask 022",
        `mkdir -p ${q("/etc/k0s")}`,
        `cat > ${q(`${K0S_CONFIG_PATH}.dualstack-new`)}`,
        `mv -f ${q(`${K0S_CONFIG_PATH}.dualstack-new`)} ${q(K0S_CONFIG_PATH)}`,
    );
}

export function configRemoveScript(): string {
    return script(
        `rm -f ${q(K0S_CONFIG_PATH)} ${q(`${K0S_CONFIG_PATH}.dualstack-new`)}`,
        `rmdir ${q("/etc/k0s")} 2>/dev/null || true`,
    );
}

/**
 * Prints a join token for `node` on the first controller; the output is a secret (the caller
 * sets logging none and additionalSecretOutputs). Short-lived: a leaked token lets a machine join.
 */
export function tokenCreateScript(plan: Plan, node: PlannedNode): string {
    const role = node.role === "control-plane" ? "controller" : "worker";
    return script(
        `# Join token for ${node.name}, printed once to stdout (a Pulumi secret), valid ${plan.cluster.tokenExpiry}.`,
        `${q(K0S_BIN)} token create --role ${q(role)} --expiry ${q(plan.cluster.tokenExpiry)}`,
    );
}

/** The registry files of a node that runs containerd (workers, controllers with a kubelet). */
export function registryFiles(plan: Plan): HostFile[] {
    return plan.registries ? k0sRegistryFiles(plan.registries, plan.kubernetes.minor) : [];
}

/** The unit a registry change restarts, and when the node is back. */
function runtimeOf(node: PlannedNode): RuntimeRestart {
    return { unit: serviceName(node), ready: `${q(K0S_BIN)} status >/dev/null 2>&1`, timeoutSeconds: node.role === "control-plane" ? API_READY_TIMEOUT : WORKER_READY_TIMEOUT };
}

/**
 * Writes the containerd drop-in (stdin; credentials) and the hosts.toml files; a change restarts
 * a running k0s service and waits for it (the component chains nodes one at a time).
 */
export function registriesCreateScript(plan: Plan, node: PlannedNode): string {
    return script(`# Registry mirrors for ${node.name}: ${K0S_REGISTRY_DROPIN} and hosts.toml files.`, registriesWriteLines(registryFiles(plan), runtimeOf(node)));
}

export function registriesDeleteScript(node: PlannedNode): string {
    return script(registriesRemoveLines(runtimeOf(node)));
}

/** The backup timer of a controller (dualstack:cluster.etcdSnapshots). */
export function backupCreateScript(plan: Plan): string {
    return script(k0sBackupCreateLines(plan.cluster.etcdSnapshots!, K0S_BIN));
}

export function backupDeleteScript(): string {
    return script(k0sBackupDeleteLines());
}

/** The admin kubeconfig, printed on the first controller (secret; the component rewrites the server). */
export function kubeconfigScript(): string {
    return script(`${q(K0S_BIN)} kubeconfig admin`);
}

/**
 * Runs on the first controller: waits until `node` is registered, and Ready when k0s deploys
 * Calico itself (with the operator-managed Calico nodes stay NotReady until the Calico component
 * runs, which waits for the API only).
 */
export function joinWaitScript(plan: Plan, node: PlannedNode): string {
    const kubectl = `${q(K0S_BIN)} kubectl`;
    const lines = waitUntil({
        condition: `${kubectl} get node ${q(node.name)} >/dev/null 2>&1`,
        timeoutSeconds: NODE_JOIN_TIMEOUT,
        what: `node ${node.name} registering with the cluster`,
    });
    // kubelet applies --labels/--taints only when it registers the Node; applying them here too
    // keeps a later change in the stack effective (additive: removed ones stay until removed by hand).
    const labels = Object.entries(node.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (labels.length > 0) lines.push(`${kubectl} label node ${q(node.name)} ${qa(labels.map(([k, v]) => `${k}=${v}`))} --overwrite`);
    if (node.taints.length > 0) lines.push(`${kubectl} taint node ${q(node.name)} ${qa(node.taints)} --overwrite`);
    if (plan.calico.managedBy === "k0s") {
        lines.push(`${kubectl} wait --for condition=Ready ${q(`node/${node.name}`)} --timeout ${NODE_JOIN_TIMEOUT}s`);
    }
    return script(`# Wait for ${node.name} to join (run on ${plan.firstControlPlane.name}).`, lines);
}

/**
 * Runs on the first controller before `node` is reset: drain (bounded, best effort: the node is
 * wiped either way, and a drain that waits forever on the last node is a known trap, xunleii
 * terraform-module-k3s#138), then delete the Node so no NotReady ghost stays behind.
 */
export function drainScript(plan: Plan, node: PlannedNode): string {
    const kubectl = `${q(K0S_BIN)} kubectl`;
    return script(
        drainAndDeleteLines({
            kubectl,
            binary: K0S_BIN,
            apiReady: `[ "$(${kubectl} get --raw /readyz 2>/dev/null || true)" = ok ]`,
            node: node.name,
            runsOn: plan.firstControlPlane.name,
            apiTimeoutSeconds: API_ON_DELETE_TIMEOUT,
            drainTimeoutSeconds: DRAIN_TIMEOUT,
        }),
    );
}
