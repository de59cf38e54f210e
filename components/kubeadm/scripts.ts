// Every shell script a kubeadm cluster runs on a host, as pure functions of the plan. POSIX sh,
// `set -eu` (shell.ts `script`), every value through `q`. steps.ts says where and in which order
// they run; render.ts writes the same bodies to out/<stack>/nodes/<node>/scripts/.
// Facts: kubernetes.io "Installing kubeadm" (pkgs.k8s.io repositories per minor, swap, hold the
// packages), "Container Runtimes" (overlay, br_netfilter, bridge-nf-call and forwarding sysctls,
// containerd's systemd cgroup driver), "Upgrading kubeadm clusters" (upgrade apply, upgrade node,
// kubelet last), `kubeadm reset` ("does not clean iptables/IPVS rules, CNI configuration, kubeconfig").
import { KUBEADM_AIRGAP_BINARIES, KUBEADM_KUBECTL } from "../distributions/kubeadm";
import { calicoCleanupLines, drainAndDeleteLines, iptablesCleanupLines, secretFileFromStdinLines, stageDirCreateScript, stageDirDeleteScript, type UpgradeNodeOptions, waitUntil } from "../kube";
import type { Plan, PlannedNode } from "../plan";
import { q, qa, script } from "../shell";
import { recordSysctlsLines, restoreSysctlsLines, type Sysctl, sysctlLines } from "../sysctl";
import { kubeadmSnapshotCreateLines, kubeadmSnapshotDeleteLines } from "../snapshots";
import { BIN_DIR, KUBEADM_AIRGAP_STAGE, KUBELET_DROPIN, KUBELET_UNIT, kubeadmOnlyLines, osFamilyLines, packagesLines, putFileLines, repoMinor } from "./packages";

export { KUBEADM_AIRGAP_STAGE } from "./packages";
import { isFirstControlPlane, KUBEADM_CONFIG_PATH, SECRET_PLACEHOLDERS } from "./config";

/** Everything dualstack keeps for kubeadm on a host (root only: secrets live here). */
export const DUALSTACK_ETC = "/etc/dualstack";
export const KUBEADM_STATE_DIR = `${DUALSTACK_ETC}/kubeadm`;
/** The first control plane's cluster secrets (bootstrap token, certificate key), from stdin. */
export const CLUSTER_SECRETS_FILE = `${KUBEADM_STATE_DIR}/cluster-secrets`;
/** A joining node's join secrets (token, CA hash, certificate key), from stdin. */
export const JOIN_SECRETS_FILE = `${KUBEADM_STATE_DIR}/join-secrets`;
/** What host preparation recorded (swap it turned off, packages it installed), for its delete. */
export const PREP_STATE_FILE = "/var/lib/dualstack/kubeadm-prep";
/** CNI configuration and plugin directories, innermost first (rmdir order). */
export const CNI_DIRS = ["/etc/cni/net.d", "/etc/cni", "/opt/cni/bin", "/opt/cni"] as const;
export const MODULES_FILE = "/etc/modules-load.d/90-dualstack-kubeadm.conf";
export const SYSCTL_FILE = "/etc/sysctl.d/91-dualstack-kubeadm.conf";
export const CONTAINERD_DIR = "/etc/containerd";
export const CONTAINERD_CONFIG = `${CONTAINERD_DIR}/config.toml`;
export const APT_KEYRING = "/etc/apt/keyrings/kubernetes-apt-keyring.gpg";
export const APT_SOURCE = "/etc/apt/sources.list.d/kubernetes.list";
export const YUM_REPO = "/etc/yum.repos.d/kubernetes.repo";

export const API_READY_TIMEOUT = 600;
export const NODE_JOIN_TIMEOUT = 600;
export const DRAIN_TIMEOUT = 120;
export const API_ON_DELETE_TIMEOUT = 60;

/** br_netfilter makes bridged pod traffic visible to iptables; overlay is containerd's snapshotter. */
export const BASE_MODULES = ["overlay", "br_netfilter"];
/** kube-proxy's ipvs mode: the scheduler modules it uses by default (rr) plus weighted and source hashing. */
export const IPVS_MODULES = ["ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh"];

export function kernelModules(plan: Plan): string[] {
    return [...BASE_MODULES, ...(plan.cluster.kubeProxyMode === "ipvs" ? IPVS_MODULES : [])];
}

/** The running values the prep step found before it applied its sysctl drop-in (restored on delete). */
export const SYSCTL_STATE = "/var/lib/dualstack/kubeadm-sysctl.state";

export const SYSCTLS: Sysctl[] = [
    ["net.bridge.bridge-nf-call-iptables", "1"],
    ["net.bridge.bridge-nf-call-ip6tables", "1"],
    ["net.ipv4.ip_forward", "1"],
    ["net.ipv6.conf.all.forwarding", "1"],
];

export function modulesFile(plan: Plan): string {
    return kernelModules(plan).join("\n") + "\n";
}

export function sysctlFile(): string {
    return sysctlLines(SYSCTLS).join("\n") + "\n";
}

/** Records `key=<value of $v>` on the host, once (the first run's answer is what delete must undo). */
function recordOnceLines(key: string, compute: string): string[] {
    return [
        `if ! grep -q ${q(`^${key}=`)} ${q(PREP_STATE_FILE)} 2>/dev/null; then`,
        `    ${compute}`,
        `    mkdir -p ${q(PREP_STATE_FILE.slice(0, PREP_STATE_FILE.lastIndexOf("/")))}`,
        `    echo "${key}=$v" >> ${q(PREP_STATE_FILE)}`,
        "fi",
    ];
}

/**
 * Host preparation for kubeadm (create): swap off (and out of fstab), kernel modules and sysctls
 * (now and persisted), containerd from the host's own packages with the systemd cgroup driver
 * (the kubelet's default under kubeadm), and the pkgs.k8s.io repository of the pinned minor.
 * What it installs or turns off is recorded, so delete removes exactly that.
 */
export function prepCreateScript(plan: Plan, node: PlannedNode): string {
    const mods = kernelModules(plan);
    return script(
        `# kubeadm host preparation on ${node.name}: swap, modules, sysctls, containerd, package repository.`,
        osFamilyLines(),
        "# Swap: the kubelet refuses to start with swap on (unless configured otherwise).",
        recordOnceLines("swap", 'if [ -n "$(swapon --noheadings 2>/dev/null || true)" ]; then v=on; else v=off; fi'),
        "swapoff -a",
        "if grep -Eq '^[^#].*[[:space:]]swap[[:space:]]' /etc/fstab 2>/dev/null; then",
        "    sed -i.dualstack-kubeadm -E 's/^([^#].*[[:space:]]swap[[:space:]].*)$/#dualstack-kubeadm# \\1/' /etc/fstab",
        "fi",
        "# Kernel modules, loaded now and at boot.",
        putFileLines(MODULES_FILE, modulesFile(plan).trimEnd()),
        `for m in ${qa(mods)}; do modprobe "$m"; done`,
        "# Bridged traffic through iptables/ip6tables, forwarding for both families.",
        // After modprobe: the bridge-nf-call keys exist only with br_netfilter loaded.
        recordSysctlsLines(SYSCTL_STATE, SYSCTLS),
        putFileLines(SYSCTL_FILE, sysctlFile().trimEnd()),
        `sysctl -q -p ${q(SYSCTL_FILE)}`,
        "# containerd from the host's own packages.",
        recordOnceLines("containerd", "if command -v containerd >/dev/null 2>&1; then v=present; else v=installed; fi"),
        "if ! command -v containerd >/dev/null 2>&1; then",
        '    case "$family" in',
        "        debian) DEBIAN_FRONTEND=noninteractive apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q containerd ;;",
        "        rhel) dnf install -y containerd || dnf install -y containerd.io ;;",
        "    esac",
        "fi",
        containerdVersionLines(plan),
        "# The systemd cgroup driver, as the kubelet uses under kubeadm (a mismatch restarts pods).",
        // written-dir: /etc/containerd was made here too, so delete removes the directory as well.
        recordOnceLines("containerdConfig", `if [ -f ${q(CONTAINERD_CONFIG)} ]; then v=kept; elif [ -d ${q(CONTAINERD_DIR)} ]; then v=written; else v=written-dir; fi`),
        `if [ ! -f ${q(CONTAINERD_CONFIG)} ]; then`,
        `    mkdir -p ${q(CONTAINERD_DIR)}`,
        `    containerd config default | sed 's/SystemdCgroup = false/SystemdCgroup = true/' > ${q(`${CONTAINERD_CONFIG}.dualstack-new`)}`,
        `    mv -f ${q(`${CONTAINERD_CONFIG}.dualstack-new`)} ${q(CONTAINERD_CONFIG)}`,
        "    systemctl restart containerd",
        `elif grep -q 'SystemdCgroup = false' ${q(CONTAINERD_CONFIG)}; then`,
        `    echo ${q(`dualstack: ${CONTAINERD_CONFIG} on ${node.name} sets SystemdCgroup = false; the kubelet uses the systemd cgroup driver. Set SystemdCgroup = true and restart containerd`)} >&2`,
        "    exit 1",
        "fi",
        "systemctl enable --now containerd",
        plan.install.source === "script" ? repoLines(plan) : [],
    );
}

/** The first Kubernetes minor that needs containerd 2: 1.35 is the last supporting 1.x (v1.35 release blog, KEP-4033). */
export const CONTAINERD2_MINOR = 36;

/** Kubernetes 1.35 is the last release that supports containerd 1.x (v1.35 release blog, KEP-4033). */
function containerdVersionLines(plan: Plan): string[] {
    if (plan.kubernetes.minor < CONTAINERD2_MINOR) return [];
    return [
        'cv=$(containerd --version | sed -n \'s/.* v\\{0,1\\}\\([0-9][0-9]*\\)\\..*/\\1/p\')',
        'if [ -n "$cv" ] && [ "$cv" -lt 2 ]; then',
        `    echo "dualstack: $(hostname) has containerd $cv.x from its packages; Kubernetes ${plan.version} needs containerd 2.0 or newer (1.35 was the last release supporting 1.x). Use a newer OS release, or dualstack:version v1.35.x" >&2`,
        "    exit 1",
        "fi",
    ];
}

/** pkgs.k8s.io of the pinned minor: the repositories are per minor, so an upgrade across minors moves them. */
function repoLines(plan: Plan): string[] {
    const base = `https://pkgs.k8s.io/core:/stable:/${repoMinor(plan)}`;
    const debLine = `deb [signed-by=${APT_KEYRING}] ${base}/deb/ /`;
    const rpmRepo = ["[kubernetes]", "name=Kubernetes", `baseurl=${base}/rpm/`, "enabled=1", "gpgcheck=1", `gpgkey=${base}/rpm/repodata/repomd.xml.key`, "exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni"].join("\n");
    return [
        `# Packages of Kubernetes ${repoMinor(plan)} from pkgs.k8s.io.`,
        'case "$family" in',
        "    debian)",
        `        if [ ! -f ${q(APT_KEYRING)} ] || [ "$(cat ${q(APT_SOURCE)} 2>/dev/null)" != ${q(debLine)} ]; then`,
        `            mkdir -p ${q("/etc/apt/keyrings")}`,
        "            key=$(mktemp)",
        `            curl --proto '=https' --tlsv1.2 -fsSL ${q(`${base}/deb/Release.key`)} -o "$key"`,
        `            gpg --dearmor --yes -o ${q(APT_KEYRING)} < "$key"`,
        '            rm -f "$key"',
        `            printf '%s\\n' ${q(debLine)} > ${q(APT_SOURCE)}`,
        "            DEBIAN_FRONTEND=noninteractive apt-get update -q",
        "        fi",
        "        ;;",
        "    rhel)",
        ...putFileLines(YUM_REPO, rpmRepo).map((l) => `        ${l}`),
        "        ;;",
        "esac",
    ];
}

/** Undo of host preparation: what create recorded, and nothing else. */
export function prepDeleteScript(): string {
    return script(
        "# Undo kubeadm host preparation: repository, sysctls, modules file, swap, containerd if dualstack installed it.",
        `state=${q(PREP_STATE_FILE)}`,
        `rec() { sed -n "s/^$1=//p" "$state" 2>/dev/null | head -n 1; }`,
        `rm -f ${qa([APT_SOURCE, APT_KEYRING, YUM_REPO, SYSCTL_FILE, MODULES_FILE])}`,
        // Loaded modules stay until reboot (unloading br_netfilter under other bridges is not ours to do).
        restoreSysctlsLines(SYSCTL_STATE, SYSCTLS),
        'case "$(rec containerdConfig)" in',
        `    written) rm -f ${q(CONTAINERD_CONFIG)} ;;`,
        `    written-dir) rm -f ${q(CONTAINERD_CONFIG)}; rmdir ${q(CONTAINERD_DIR)} 2>/dev/null || true ;;`,
        "esac",
        'if [ "$(rec containerd)" = installed ]; then',
        "    systemctl disable --now containerd 2>/dev/null || true",
        "    if command -v apt-get >/dev/null 2>&1; then DEBIAN_FRONTEND=noninteractive apt-get remove -y -q containerd || true; fi",
        "    if command -v dnf >/dev/null 2>&1; then dnf remove -y containerd containerd.io || true; fi",
        "fi",
        "if [ -f /etc/fstab.dualstack-kubeadm ]; then",
        "    sed -i -E 's/^#dualstack-kubeadm# //' /etc/fstab",
        "    rm -f /etc/fstab.dualstack-kubeadm",
        "fi",
        'if [ "$(rec swap)" = on ]; then swapon -a || true; fi',
        'rm -f "$state"',
        `rmdir ${q(PREP_STATE_FILE.slice(0, PREP_STATE_FILE.lastIndexOf("/")))} 2>/dev/null || true`,
        "# kubeadm, kubelet and kubectl (packages or air-gap binaries) go in the node's reset.",
    );
}

/**
 * Fills the node's rendered config (secret placeholders) from a root-only secrets file into a
 * root-only temporary file whose path ends up in $filled. awk reads the values from the file, so no
 * secret is ever in an argument list; a placeholder left unfilled stops the script.
 */
export function fillSecretsLines(secretsFile: string, configFile = KUBEADM_CONFIG_PATH, tmpDir = KUBEADM_STATE_DIR): string[] {
    return [
        `filled=$(umask 077 && mktemp ${q(`${tmpDir}/kubeadm.XXXXXX`)})`,
        "trap 'rm -f \"$filled\"' EXIT",
        `awk -v secrets=${q(secretsFile)} 'BEGIN { while ((getline line < secrets) > 0) { i = index(line, "="); if (i > 1) v[substr(line, 1, i - 1)] = substr(line, i + 1) } } { for (k in v) gsub("@@" k "@@", v[k]); print }' ${q(configFile)} > "$filled"`,
        `if grep -q -E ${q(`@@(${SECRET_PLACEHOLDERS.join("|")})@@`)} "$filled"; then`,
        `    echo ${q(`dualstack: ${secretsFile} lacks a value the kubeadm config needs`)} >&2`,
        "    exit 1",
        "fi",
    ];
}

/** Writes the node's rendered kubeadm config (stdin; it holds no secret, only placeholders). */
export function configWriteScript(): string {
    return script(
        `# ${KUBEADM_CONFIG_PATH} arrives on stdin (the rendered kubeadm documents, no secrets).`,
        `mkdir -p ${q(KUBEADM_STATE_DIR)}`,
        `chmod 0700 ${q(KUBEADM_STATE_DIR)}`,
        `(umask 077 && cat > ${q(`${KUBEADM_CONFIG_PATH}.dualstack-new`)})`,
        `mv -f ${q(`${KUBEADM_CONFIG_PATH}.dualstack-new`)} ${q(KUBEADM_CONFIG_PATH)}`,
    );
}

export function configRemoveScript(): string {
    // /etc/dualstack too, once nothing else of dualstack is in it.
    return script(`rm -f ${q(KUBEADM_CONFIG_PATH)} ${q(`${KUBEADM_CONFIG_PATH}.dualstack-new`)}`, `rmdir ${q(KUBEADM_STATE_DIR)} ${q(DUALSTACK_ETC)} 2>/dev/null || true`);
}

function apiReadyLines(what: string): string[] {
    return waitUntil({
        condition: `${KUBEADM_KUBECTL} get --raw /readyz >/dev/null 2>&1`,
        timeoutSeconds: API_READY_TIMEOUT,
        what,
        onTimeout: ["crictl ps -a >&2 2>/dev/null || true", "journalctl -u kubelet -n 50 --no-pager >&2 2>/dev/null || true"],
    });
}

/**
 * The first control plane (create): packages, cluster secrets from stdin into a root-only file,
 * `kubeadm init` with the filled config (certificates uploaded for control planes that join
 * later), then a bounded wait for /readyz. A node that already has /etc/kubernetes/admin.conf is
 * not initialised again, so a second run changes nothing.
 */
export function initScript(plan: Plan, node: PlannedNode): string {
    return script(
        `# kubeadm init ${plan.version} on ${node.name}.`,
        packagesLines(plan),
        "# The bootstrap token and certificate key arrive on stdin: never in argv, the environment or a log.",
        secretFileFromStdinLines(CLUSTER_SECRETS_FILE, "kubeadm cluster secrets"),
        "if [ ! -f /etc/kubernetes/admin.conf ]; then",
        ...fillSecretsLines(CLUSTER_SECRETS_FILE).map((l) => `    ${l}`),
        '    kubeadm init --config "$filled" --upload-certs --skip-token-print --skip-certificate-key-print',
        "fi",
        apiReadyLines(`the Kubernetes API on ${node.name} answering /readyz`),
    );
}

/**
 * A joining node (create): packages, join secrets from stdin into a root-only file, `kubeadm
 * join` with the filled config. A node with /etc/kubernetes/kubelet.conf has joined already.
 */
export function joinScript(plan: Plan, node: PlannedNode): string {
    return script(
        `# kubeadm join ${plan.version}: ${node.name} (${node.role}).`,
        packagesLines(plan),
        "# The token, CA hash and certificate key arrive on stdin: never in argv, the environment or a log.",
        secretFileFromStdinLines(JOIN_SECRETS_FILE, "kubeadm join secrets"),
        "if [ ! -f /etc/kubernetes/kubelet.conf ]; then",
        ...fillSecretsLines(JOIN_SECRETS_FILE).map((l) => `    ${l}`),
        '    kubeadm join --config "$filled"',
        "fi",
        node.role === "control-plane" ? apiReadyLines(`the Kubernetes API on ${node.name} answering /readyz`) : [],
    );
}

/**
 * On the first control plane, for a joining node: (re)creates the stack's bootstrap token with the
 * configured lifetime (a node added weeks later still joins), re-uploads the control-plane
 * certificates for a control plane (kubeadm deletes them after 2 h), and prints the join secrets.
 * Its stdout is a secret (logging off) that becomes the node's stdin.
 */
export function tokenScript(plan: Plan, node: PlannedNode): string {
    return script(
        `# Join secrets for ${node.name}, printed once to stdout (a Pulumi secret).`,
        ...fillSecretsLines(CLUSTER_SECRETS_FILE),
        'kubeadm token create --config "$filled" >/dev/null',
        node.role === "control-plane" ? ['kubeadm init phase upload-certs --upload-certs --config "$filled" >/dev/null'] : [],
        // The CA's public key hash, as `kubeadm token create --print-join-command` computes it.
        "hash=$(openssl x509 -pubkey -noout -in /etc/kubernetes/pki/ca.crt | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1)",
        `grep -E ${q(node.role === "control-plane" ? "^(token|certificateKey)=" : "^token=")} ${q(CLUSTER_SECRETS_FILE)}`,
        `printf 'caCertHash=sha256:%s\\n' "$hash"`,
    );
}

/**
 * In-place upgrade (a new version): kubeadm first, then `kubeadm upgrade apply` on the first
 * control plane or `kubeadm upgrade node` elsewhere, then kubelet and kubectl and a kubelet restart
 * (kubernetes.io "Upgrading kubeadm clusters"). steps.ts orders the nodes. A control plane that
 * already runs the version is left alone: this is the install's update, which also runs when an
 * input other than the version changes (a new SSH key), and `kubeadm upgrade apply` of the same
 * version would still rewrite the static pods and restart the control plane.
 */
export function upgradeScript(plan: Plan, node: PlannedNode): string {
    return script(node.role === "control-plane" ? controlPlaneCurrentLines(plan, node) : [], upgradeLines(plan, node));
}

/** kubeadm's static pod of the API server; its image tag is the version kubeadm last applied here. */
export const APISERVER_MANIFEST = "/etc/kubernetes/manifests/kube-apiserver.yaml";

/**
 * Exit early when every part of an upgrade already happened on this control plane: the API server's
 * static pod (kubeadm upgrade apply|node), the kubelet binary and the kubelet the API sees (restarted).
 */
function controlPlaneCurrentLines(plan: Plan, node: PlannedNode): string[] {
    const v = plan.version;
    return [
        `if [ "$(kubelet --version 2>/dev/null || true)" = ${q(`Kubernetes ${v}`)} ] &&`,
        // The image tag itself, compared whole (a prefix test would take v1.36.30 for v1.36.3).
        `    [ "$(sed -n 's#^.*image: .*/kube-apiserver:##p' ${q(APISERVER_MANIFEST)} 2>/dev/null | head -n 1)" = ${q(v)} ] &&`,
        `    [ "$(${KUBEADM_KUBECTL} get node ${q(node.name)} -o jsonpath='{.status.nodeInfo.kubeletVersion}' 2>/dev/null || true)" = ${q(v)} ]; then`,
        `    echo ${q(`dualstack: ${node.name} already runs ${v} (API server and kubelet); nothing to upgrade`)}`,
        "    exit 0",
        "fi",
    ];
}

function upgradeLines(plan: Plan, node: PlannedNode): string[] {
    const first = isFirstControlPlane(plan, node);
    return [
        `# Upgrade ${node.name} to ${plan.version}: the kubeadm binary first, then ${first ? "the cluster (upgrade apply)" : "this node (upgrade node)"}, the kubelet last.`,
        kubeadmOnlyLines(plan),
        first ? `kubeadm upgrade apply ${q(plan.version)} --yes` : "kubeadm upgrade node",
        packagesLines(plan),
        "systemctl daemon-reload",
        "systemctl restart kubelet",
        node.role === "control-plane" ? apiReadyLines(`the Kubernetes API on ${node.name} answering /readyz after the upgrade`) : [],
    ].flat();
}

/**
 * A worker's upgrade step (between its drain and uncordon, batches.ts): nothing when its kubelet
 * already is the pinned version (`kubelet --version` prints `Kubernetes v1.36.3`); otherwise
 * kubeadm, `kubeadm upgrade node`, then the kubelet (kubernetes.io "Upgrading kubeadm clusters",
 * "Upgrade worker nodes": drain, upgrade kubeadm, upgrade node, kubelet, uncordon).
 */
export function workerUpgradeScript(plan: Plan, node: PlannedNode): string {
    return script(
        `if [ "$(kubelet --version 2>/dev/null || true)" = ${q(`Kubernetes ${plan.version}`)} ]; then`,
        `    echo ${q(`dualstack: ${node.name} already runs kubelet ${plan.version}; nothing to upgrade`)}`,
        "    exit 0",
        "fi",
        ...upgradeLines(plan, node),
    );
}

/**
 * A joined worker's in-place change: none. Its join settings are create-only (a change replaces
 * it) and its version is its upgrade step's, so this runs only when something else about the
 * step changed (its delete, its connection) and leaves the node as it is.
 */
export function workerInstallUpdateScript(node: PlannedNode): string {
    return script(`echo ${q(`dualstack: ${node.name}: nothing to change in place (its version is its upgrade step's)`)}`);
}

/** How the first control plane drains, awaits and uncordons a worker around its upgrade (batches.ts). */
export const upgradeNode = (plan: Plan, node: PlannedNode): UpgradeNodeOptions => ({
    kubectl: KUBEADM_KUBECTL,
    node: node.name,
    kubeletVersion: plan.version,
    drainTimeoutSeconds: DRAIN_TIMEOUT,
    readyTimeoutSeconds: NODE_JOIN_TIMEOUT,
});

/**
 * Undo of init/join: `kubeadm reset`, then what it leaves (its own output says so): iptables and
 * ip6tables rules (kube-proxy's KUBE- chains), IPVS tables, CNI configuration, Calico's leftovers,
 * /etc/kubernetes, the kubelet's directory, the packages and the secrets files. Tolerates a
 * half-installed node; runs after the node was drained and deleted from the cluster.
 */
export function resetScript(plan: Plan, node: PlannedNode): string {
    return script(
        `# Remove kubeadm's node ${node.name}: reset, and what reset leaves behind.`,
        "if command -v kubeadm >/dev/null 2>&1; then",
        `    kubeadm reset --force --cri-socket ${q("unix:///var/run/containerd/containerd.sock")}`,
        "fi",
        "systemctl disable --now kubelet 2>/dev/null || true",
        calicoCleanupLines(),
        "# kube-proxy's chains, IPVS tables and dummy interface: kubeadm reset leaves them.",
        iptablesCleanupLines(["KUBE-"]),
        "if command -v ipvsadm >/dev/null 2>&1; then ipvsadm --clear || true; fi",
        "ip link delete kube-ipvs0 2>/dev/null || true",
        "# kube-proxy's nftables mode keeps all it adds in table kube-proxy of families ip and ip6",
        "# (kubernetes pkg/proxy/nftables/proxier.go kubeProxyTable); kubeadm reset leaves it too.",
        "if command -v nft >/dev/null 2>&1; then",
        "    for family in ip ip6; do nft delete table \"$family\" kube-proxy 2>/dev/null || true; done",
        "fi",
        "rm -rf /etc/cni/net.d/* /etc/kubernetes /var/lib/kubelet /var/lib/etcd",
        // The CNI directories Calico's installer made; a directory that still holds something stays.
        `rmdir ${qa([...CNI_DIRS])} 2>/dev/null || true`,
        "if command -v apt-get >/dev/null 2>&1 && dpkg -s kubeadm >/dev/null 2>&1; then",
        "    apt-mark unhold kubeadm kubelet kubectl >/dev/null 2>&1 || true",
        "    DEBIAN_FRONTEND=noninteractive apt-get remove -y -q kubeadm kubelet kubectl || true",
        "elif command -v rpm >/dev/null 2>&1 && rpm -q kubeadm >/dev/null 2>&1; then",
        "    dnf remove -y kubeadm kubelet kubectl || true",
        "fi",
        plan.install.source === "airgap"
            ? [`rm -f ${qa([...KUBEADM_AIRGAP_BINARIES.map((b) => `${BIN_DIR}/${b}`), KUBELET_UNIT, KUBELET_DROPIN])}`, `rmdir ${q("/etc/systemd/system/kubelet.service.d")} 2>/dev/null || true`, "systemctl daemon-reload || true"]
            : [],
        `rm -f ${qa([CLUSTER_SECRETS_FILE, `${CLUSTER_SECRETS_FILE}.dualstack-new`, JOIN_SECRETS_FILE, `${JOIN_SECRETS_FILE}.dualstack-new`])}`,
        `rmdir ${q(KUBEADM_STATE_DIR)} 2>/dev/null || true`,
    );
}

/** The admin kubeconfig, printed on the first control plane (secret; the component rewrites the server). */
export function kubeconfigScript(): string {
    return script("cat /etc/kubernetes/admin.conf");
}

/** On the first control plane: waits until `node` is registered and applies its labels. */
export function joinWaitScript(plan: Plan, node: PlannedNode): string {
    const lines = waitUntil({
        condition: `${KUBEADM_KUBECTL} get node ${q(node.name)} >/dev/null 2>&1`,
        timeoutSeconds: NODE_JOIN_TIMEOUT,
        what: `node ${node.name} registering with the cluster`,
    });
    const labels = Object.entries(node.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (labels.length > 0) lines.push(`${KUBEADM_KUBECTL} label node ${q(node.name)} ${qa(labels.map(([k, v]) => `${k}=${v}`))} --overwrite`);
    return script(`# Wait for ${node.name} to join (run on ${plan.firstControlPlane.name}).`, lines);
}

/** On the first control plane before `node` is reset: the shared bounded drain, then delete. */
export function drainScript(plan: Plan, node: PlannedNode): string {
    return script(
        drainAndDeleteLines({
            kubectl: KUBEADM_KUBECTL,
            binary: "kubectl",
            apiReady: `[ "$(${KUBEADM_KUBECTL} get --raw /readyz 2>/dev/null || true)" = ok ]`,
            node: node.name,
            runsOn: plan.firstControlPlane.name,
            apiTimeoutSeconds: API_ON_DELETE_TIMEOUT,
            drainTimeoutSeconds: DRAIN_TIMEOUT,
        }),
    );
}

export function airgapStageCreateScript(plan: Plan): string {
    return stageDirCreateScript(KUBEADM_AIRGAP_STAGE, plan.ssh.user);
}

export function airgapStageDeleteScript(): string {
    return stageDirDeleteScript(KUBEADM_AIRGAP_STAGE);
}

/** The etcd snapshot timer of a control plane (dualstack:cluster.etcdSnapshots; snapshots.ts). */
export function snapshotCreateScript(plan: Plan): string {
    return script(kubeadmSnapshotCreateLines(plan.cluster.etcdSnapshots!));
}

export function snapshotDeleteScript(): string {
    return script(kubeadmSnapshotDeleteLines());
}
