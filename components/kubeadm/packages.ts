// How kubeadm, kubelet and kubectl reach a host: packages of the pinned version from pkgs.k8s.io
// (held), or the air-gap binaries with the kubelet unit and kubeadm drop-in the packages ship.
// Shell lines for scripts.ts; pure.
import { KUBEADM_AIRGAP_BINARIES } from "../distributions/kubeadm";
import type { Plan } from "../plan";
import { q, qa } from "../shell";

/** Air-gapped binaries are staged here (CopyToRemote as the SSH user) and installed from here. */
export const KUBEADM_AIRGAP_STAGE = "/var/lib/dualstack/kubeadm-airgap";
/**
 * Where the air-gap binaries go: /usr/local/bin, as kubernetes.io "Installing kubeadm" does without a
 * package manager (DOWNLOAD_DIR="/usr/local/bin", the unit's /usr/bin rewritten to it). /usr/bin
 * belongs to the OS packages: a kubectl there (the lab machine has one) would be overwritten, and
 * deleted by the node's reset.
 */
export const BIN_DIR = "/usr/local/bin";
export const KUBELET_UNIT = "/etc/systemd/system/kubelet.service";
export const KUBELET_DROPIN = "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf";

/** `v1.36` for the pkgs.k8s.io repository path of the pinned minor. */
export function repoMinor(plan: Plan): string {
    return `v${plan.kubernetes.major}.${plan.kubernetes.minor}`;
}

/** The package version without the leading v (`1.36.3`), as both apt (`1.36.3-*`) and dnf (`-1.36.3`) match it. */
export function packageVersion(plan: Plan): string {
    return plan.version.replace(/^v/, "");
}

/** The host's package family from /etc/os-release (ID and ID_LIKE, as the facts step reads it). */
export function osFamilyLines(): string[] {
    return [
        "family=''",
        "if [ -r /etc/os-release ]; then",
        "    # shellcheck disable=SC1091",
        "    ids=$(. /etc/os-release && echo \"${ID:-} ${ID_LIKE:-}\")",
        "    case \" $ids \" in",
        "        *' debian '*|*' ubuntu '*) family=debian ;;",
        "        *' rhel '*|*' fedora '*|*' centos '*) family=rhel ;;",
        "    esac",
        "fi",
        'if [ -z "$family" ]; then',
        '    echo "dualstack: $(hostname) is neither Debian/Ubuntu nor RHEL-family (/etc/os-release); install containerd, kubeadm, kubelet and kubectl yourself or use such a host" >&2',
        "    exit 1",
        "fi",
    ];
}

/** Writes `content` to `path` only when it differs (a second run changes nothing, not even mtime). */
export function putFileLines(path: string, content: string, mode = "0644"): string[] {
    return [
        // A unit file's `$VARS` are for systemd, not for this shell.
        ...(content.includes("$") ? ["# shellcheck disable=SC2016"] : []),
        `want=${q(content)}`,
        `if [ ! -f ${q(path)} ] || [ "$(cat ${q(path)})" != "$want" ]; then`,
        `    mkdir -p ${q(path.slice(0, path.lastIndexOf("/")))}`,
        `    printf '%s\\n' "$want" > ${q(`${path}.dualstack-new`)}`,
        `    chmod ${mode} ${q(`${path}.dualstack-new`)}`,
        `    mv -f ${q(`${path}.dualstack-new`)} ${q(path)}`,
        "fi",
    ];
}

/** Installs kubeadm, kubelet and kubectl of the pinned version (packages, held; or the air-gap binaries). */
export function packagesLines(plan: Plan): string[] {
    if (plan.install.source === "airgap") {
        return [
            "# kubeadm, kubelet and kubectl from install.airgapDir (staged by CopyToRemote).",
            `for b in ${qa([...KUBEADM_AIRGAP_BINARIES])}; do`,
            `    if ! cmp -s ${q(KUBEADM_AIRGAP_STAGE)}/"$b" ${q(BIN_DIR)}/"$b"; then`,
            `        install -m 0755 ${q(KUBEADM_AIRGAP_STAGE)}/"$b" ${q(BIN_DIR)}/"$b.dualstack-new"`,
            `        mv -f ${q(BIN_DIR)}/"$b.dualstack-new" ${q(BIN_DIR)}/"$b"`,
            "    fi",
            "done",
            `have=$(kubeadm version -o short)`,
            `if [ "$have" != ${q(plan.version)} ]; then`,
            `    echo "dualstack: the kubeadm in install.airgapDir is $have, but dualstack:version is "${q(plan.version)} >&2`,
            "    exit 1",
            "fi",
            ...putFileLines(KUBELET_UNIT, kubeletUnit().trimEnd()),
            ...putFileLines(KUBELET_DROPIN, kubeletDropIn().trimEnd()),
            "systemctl daemon-reload",
            "systemctl enable kubelet",
        ];
    }
    const v = q(packageVersion(plan));
    return [
        `# kubeadm, kubelet and kubectl ${plan.version}, held so unattended upgrades cannot move them.`,
        ...osFamilyLines(),
        'case "$family" in',
        "    debian)",
        ...aptVersionLines(plan),
        "        apt-mark unhold kubeadm kubelet kubectl >/dev/null 2>&1 || true",
        '        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --allow-downgrades "kubeadm=$pv" "kubelet=$pv" "kubectl=$pv"',
        "        apt-mark hold kubeadm kubelet kubectl >/dev/null",
        "        ;;",
        "    rhel)",
        `        dnf install -y --disableexcludes=kubernetes "kubeadm-"${v} "kubelet-"${v} "kubectl-"${v}`,
        "        ;;",
        "esac",
        "systemctl enable kubelet",
    ];
}

/** `$pv`: the apt package version of the pinned release (`1.36.3-1.1`), or a clear failure. */
function aptVersionLines(plan: Plan): string[] {
    const v = packageVersion(plan);
    return [
        `        pv=$(apt-cache madison kubeadm | awk -v v=${q(v)} '$3 ~ "^"v"-" {print $3; exit}')`,
        `        if [ -z "$pv" ]; then echo ${q(`dualstack: pkgs.k8s.io ${repoMinor(plan)} has no kubeadm ${v} for this host`)} >&2; exit 1; fi`,
    ];
}

/** Only kubeadm (the first half of an upgrade: kubelet and kubectl follow after `kubeadm upgrade`). */
export function kubeadmOnlyLines(plan: Plan): string[] {
    if (plan.install.source === "airgap") {
        return [`install -m 0755 ${q(`${KUBEADM_AIRGAP_STAGE}/kubeadm`)} ${q(`${BIN_DIR}/kubeadm.dualstack-new`)}`, `mv -f ${q(`${BIN_DIR}/kubeadm.dualstack-new`)} ${q(`${BIN_DIR}/kubeadm`)}`];
    }
    const v = q(packageVersion(plan));
    return [
        ...osFamilyLines(),
        'case "$family" in',
        "    debian)",
        "        DEBIAN_FRONTEND=noninteractive apt-get update -q",
        ...aptVersionLines(plan),
        "        apt-mark unhold kubeadm >/dev/null 2>&1 || true",
        '        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "kubeadm=$pv"',
        "        apt-mark hold kubeadm >/dev/null",
        "        ;;",
        `    rhel) dnf install -y --disableexcludes=kubernetes "kubeadm-"${v} ;;`,
        "esac",
    ];
}

/** kubelet.service as the kubernetes/release packages ship it (cmd/krel/templates/latest/kubelet). */
export function kubeletUnit(): string {
    return [
        "[Unit]",
        "Description=kubelet: The Kubernetes Node Agent",
        "Documentation=https://kubernetes.io/docs/",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        `ExecStart=${BIN_DIR}/kubelet`,
        "Restart=always",
        "StartLimitInterval=0",
        "RestartSec=10",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ].join("\n");
}

/** The kubeadm drop-in of the packages (kubernetes/release cmd/krel/templates/latest/kubeadm/10-kubeadm.conf). */
export function kubeletDropIn(): string {
    return [
        "[Service]",
        'Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"',
        'Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"',
        "EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env",
        "EnvironmentFile=-/etc/default/kubelet",
        "ExecStart=",
        `ExecStart=${BIN_DIR}/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS`,
        "",
    ].join("\n");
}
