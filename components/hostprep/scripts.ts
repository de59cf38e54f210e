// Every shell script and host file of host preparation, as pure functions of the plan's node.
// Scripts are POSIX sh bodies (run as `sh -c` through shell.ts `remoteCommand`); every value
// enters them through `q`. Each step's create is idempotent (a second run changes nothing, not
// even a file's mtime) and its delete removes exactly what create added, as recorded on the host.
import { stringify } from "yaml";
import { PROFILES } from "../distributions";
import type { PlannedNode } from "../plan";
import { q, script } from "../shell";
import { recordSysctlsLines, restoreSysctlsLines, type Sysctl, sysctlLines } from "../sysctl";

export const STATE_DIR = "/var/lib/dualstack";
export const SYSCTL_FILE = "/etc/sysctl.d/90-dualstack.conf";
/** The running values the sysctl step found before it applied its drop-in (restored on delete). */
export const SYSCTL_STATE = `${STATE_DIR}/sysctl.state`;
/** Units that must find the address in place when they start (k3s/k0s install them, kubeadm hosts get kubelet). */
export const CLUSTER_UNITS = [...new Set(Object.values(PROFILES).flatMap((p) => [p.serviceUnits["control-plane"], p.serviceUnits.worker].map((u) => `${u}.service`)))];

export type Persistence = "netplan" | "networkmanager" | "ifupdown" | "systemd" | "none";
export const PERSISTENCE_KINDS: Persistence[] = ["netplan", "networkmanager", "ifupdown", "systemd", "none"];

export interface HostPaths {
    /** What the ipv6 step recorded: whether it added the address and how it persisted it. */
    state: string;
    unitName: string;
    unit: string;
    netplan: string;
    ifupdown: string;
    sysctl: string;
}

export function hostPaths(node: PlannedNode): HostPaths {
    const i = node.interface;
    return {
        state: `${STATE_DIR}/ipv6-${i}.state`,
        unitName: `dualstack-ipv6-${i}.service`,
        unit: `/etc/systemd/system/dualstack-ipv6-${i}.service`,
        netplan: `/etc/netplan/60-dualstack-${i}.yaml`,
        ifupdown: `/etc/network/interfaces.d/60-dualstack-${i}`,
        sysctl: SYSCTL_FILE,
    };
}

// --- Host files ---------------------------------------------------------------------------
// Host file texts avoid quote characters, backslash, `$`, backtick and `!`: then `q(text)` is a
// plain single-quoted word that survives verbatim inside the registered command string, so the
// rendered file can be found in the registered inputs (test/unit/hostprep/scripts.spec.ts checks both).

/**
 * The fallback persistence: a oneshot unit ordered before the k3s/k0s units (domain facts G.2).
 * `ip -6 addr replace` is idempotent; `nodad` makes the address usable at once instead of
 * tentative for the DAD period (ip-address(8)), so k3s and calico-node find it when they start.
 * `ip` without a path: systemd >= 239 resolves it in its fixed search path (systemd.service(5)).
 */
export function systemdUnit(node: PlannedNode): string {
    return [
        "# Managed by dualstack (Pulumi): the planned IPv6 address of this node, restored at boot",
        "# so that the IPv6 autodetection of Calico finds it. pulumi destroy disables and removes this unit.",
        "[Unit]",
        `Description=dualstack: IPv6 address ${node.ipv6Cidr} on ${node.interface}`,
        "Wants=network-online.target",
        "After=network-online.target",
        `Before=${CLUSTER_UNITS.join(" ")}`,
        "",
        "[Service]",
        "Type=oneshot",
        "RemainAfterExit=yes",
        `ExecStart=ip -6 addr replace ${node.ipv6Cidr} dev ${node.interface} nodad`,
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ].join("\n");
}

/**
 * A netplan drop-in: files are merged in lexical order and sequences such as `addresses` are
 * concatenated (netplan doc/netplan-generate.md), so this adds to the host's own definition of
 * the interface. Used only when the host's netplan config defines `ethernets.<iface>` (checked
 * at run time), so the drop-in never creates a second definition for the same device.
 */
export function netplanDropIn(node: PlannedNode): string {
    const doc = { network: { version: 2, ethernets: { [node.interface]: { addresses: [node.ipv6Cidr] } } } };
    return (
        "# Managed by dualstack (Pulumi): the planned IPv6 address of this node, added to the\n" +
        "# definition of this interface in the host netplan config. pulumi destroy removes this file.\n" +
        stringify(doc)
    );
}

/** An extra inet6 stanza (interfaces(5) allows several per interface); DAD off like `nodad`. */
export function ifupdownStanza(node: PlannedNode): string {
    return [
        "# Managed by dualstack (Pulumi): the planned IPv6 address of this node. pulumi destroy removes this file.",
        `iface ${node.interface} inet6 static`,
        `    address ${node.ipv6Cidr}`,
        "    dad-attempts 0",
        "",
    ].join("\n");
}

/** sysctl.d uses `/` for a `.` inside one key component, e.g. a VLAN interface eth0.100 (sysctl.d(5)). */
export function sysctlIfaceKey(iface: string): string {
    return iface.replace(/\./g, "/");
}

/** What the drop-in sets, in its order. */
export function hostSysctls(node: PlannedNode): Sysctl[] {
    return [
        ["net.ipv4.ip_forward", "1"],
        ["net.ipv6.conf.all.forwarding", "1"],
        ["net.ipv6.conf.default.accept_ra", "2"],
        [`net.ipv6.conf.${sysctlIfaceKey(node.interface)}.accept_ra`, "2"],
    ];
}

export function sysctlDropIn(node: PlannedNode): string {
    return [
        "# Managed by dualstack (Pulumi).",
        "# Forwarding carries pod traffic (Calico; kubeadm/Calico dual-stack requirements).",
        "# With forwarding on, the kernel ignores router advertisements unless accept_ra is 2",
        "# (Documentation/networking/ip-sysctl.rst), and an RA-learned IPv6 default route expires.",
        `# pulumi destroy removes this file and restores the values recorded in ${SYSCTL_STATE}.`,
        ...sysctlLines(hostSysctls(node)),
        "",
    ].join("\n");
}

// --- Shell building blocks ------------------------------------------------------------------

/**
 * Which network manager is in charge, and with what the ipv6 step persists the address. The
 * facts step and the ipv6 step share this text, so what facts report is what ipv6 does.
 */
function detectionFunctions(): string[] {
    return [
        // netplan counts when any of its config directories holds a YAML file (an unmatched glob stays literal).
        "dualstack_netplan_config() {",
        "  for f in /etc/netplan/*.yaml /lib/netplan/*.yaml /run/netplan/*.yaml; do",
        '    if [ -e "$f" ]; then return 0; fi',
        "  done",
        "  return 1",
        "}",
        "dualstack_manager() {",
        "  if command -v netplan >/dev/null 2>&1 && dualstack_netplan_config; then echo netplan",
        '  elif command -v nmcli >/dev/null 2>&1 && [ "$(nmcli -t -f RUNNING general 2>/dev/null)" = running ]; then echo networkmanager',
        "  elif command -v networkctl >/dev/null 2>&1 && systemctl is-active --quiet systemd-networkd 2>/dev/null; then echo networkd",
        "  elif command -v ifup >/dev/null 2>&1 && [ -f /etc/network/interfaces ]; then echo ifupdown",
        "  else echo none; fi",
        "}",
        "dualstack_nm_connection() {",
        '  nmcli -g GENERAL.CONNECTION device show "$iface" 2>/dev/null | head -n 1',
        "}",
        "dualstack_fallback() {",
        "  if [ -d /run/systemd/system ]; then echo systemd; else echo none; fi",
        "}",
        "dualstack_persistence() {",
        '  case "$1" in',
        "    netplan)",
        // Only when netplan defines ethernets.<iface> (netplan get, netplan >= 0.103).
        '      def=$(netplan get "ethernets.$iface" 2>/dev/null || true)',
        '      if [ -n "$def" ] && [ "$def" != null ]; then echo netplan; else dualstack_fallback; fi ;;',
        "    networkmanager)",
        '      con=$(dualstack_nm_connection)',
        '      method=$(nmcli -g ipv6.method connection show "$con" 2>/dev/null || true)',
        '      case "$method" in auto|dhcp|manual) echo networkmanager ;; *) dualstack_fallback ;; esac ;;',
        "    ifupdown)",
        "      if grep -Eq '^[[:space:]]*source(-directory)?[[:space:]]+/etc/network/interfaces\\.d' /etc/network/interfaces; then echo ifupdown; else dualstack_fallback; fi ;;",
        "    *) dualstack_fallback ;;",
        "  esac",
        "}",
    ];
}

/** put_file PATH MODE CONTENT: writes only when the bytes differ; sets `changed`. */
function putFileFunction(): string[] {
    return [
        "put_file() {",
        '  if [ -f "$1" ] && [ "$(cat "$1"; echo x)" = "$(printf \'%s\' "$3"; echo x)" ]; then changed=no; return 0; fi',
        '  mkdir -p "$(dirname "$1")"',
        '  tmp=$(mktemp "$1.XXXXXX")',
        "  printf '%s' \"$3\" > \"$tmp\"",
        '  chmod "$2" "$tmp"',
        '  mv -f "$tmp" "$1"',
        "  changed=yes",
        "}",
    ];
}

function nodeVars(node: PlannedNode): string[] {
    const p = hostPaths(node);
    return [
        `iface=${q(node.interface)}`,
        `addr=${q(node.ipv6)}`,
        `cidr=${q(node.ipv6Cidr)}`,
        `state=${q(p.state)}`,
        `unit=${q(p.unitName)}`,
        `unit_path=${q(p.unit)}`,
        `netplan_path=${q(p.netplan)}`,
        `ifupdown_path=${q(p.ifupdown)}`,
    ];
}

const HAS_ADDR = ['has_addr() {', '  ip -6 -o addr show dev "$iface" | grep -qF "inet6 $addr/"', "}"];
const STATE_GET = ["state_get() {", "  sed -n \"s/^$1=//p\" \"$state\"", "}"];
const REQUIRE_IFACE = [
    'if ! ip link show dev "$iface" >/dev/null 2>&1; then',
    '  echo "dualstack: interface $iface does not exist on $(hostname); set the node\'s interface to its uplink (ip link)" >&2',
    "  exit 1",
    "fi",
];

// --- Steps ----------------------------------------------------------------------------------

/**
 * Facts (read-only): one JSON document on stdout, parsed by facts.ts `parseFacts`. Fields are
 * strings or raw `ip -j` JSON, so no JSON tool is needed on the host.
 */
export function factsScript(node: PlannedNode): string {
    return script(
        `iface=${q(node.interface)}`,
        `state=${q(hostPaths(node).state)}`,
        detectionFunctions(),
        // Builtins and few processes: facts run on every host at once, and each exec costs.
        "rd() {",
        "  v=''",
        '  if [ -r "$1" ]; then read -r v < "$1" || true; fi',
        "  printf '%s' \"$v\"",
        "}",
        "if ! ip -j link show lo >/dev/null 2>&1; then",
        '  echo "dualstack: ip on $(hostname) has no JSON output (ip -j); install iproute2 4.13 or newer" >&2',
        "  exit 1",
        "fi",
        "if [ -d /run/systemd/system ]; then init=systemd; else init=$(rd /proc/1/comm); fi",
        "manager=$(dualstack_manager)",
        'persistence=$(dualstack_persistence "$manager")',
        "nm_connection=''",
        'if [ "$manager" = networkmanager ]; then nm_connection=$(dualstack_nm_connection); fi',
        'if [ -n "${SUDO_USER:-}" ]; then via_sudo=true; else via_sudo=false; fi',
        // What an earlier ipv6 step recorded (added=yes|no), so a re-run of facts knows whose address it sees.
        "recorded=''",
        'if [ -f "$state" ]; then recorded=$(sed -n "s/^added=//p" "$state"); fi',
        "addrs=$(ip -j addr show)",
        "routes=$(ip -j -6 route show default 2>/dev/null || echo '[]')",
        "printf '{\"schema\":1,'",
        // String fields as key=value lines, turned into JSON members by one sed: os-release quotes
        // stripped, control characters dropped, backslash and double quote escaped.
        "{",
        '  echo "hostname=$(hostname)"',
        '  echo "user=${SUDO_USER:-$(id -un)}"',
        "  if [ -r /etc/os-release ]; then grep -E '^(ID|VERSION_ID|PRETTY_NAME)=' /etc/os-release || true; fi",
        '  echo "init=$init"',
        '  echo "networkManager=$manager"',
        '  echo "persistence=$persistence"',
        '  echo "nmConnection=$nm_connection"',
        '  echo "recorded=$recorded"',
        '  echo "ipv4Forward=$(rd /proc/sys/net/ipv4/ip_forward)"',
        '  echo "ipv6Forwarding=$(rd /proc/sys/net/ipv6/conf/all/forwarding)"',
        '  echo "ipv6AcceptRa=$(rd "/proc/sys/net/ipv6/conf/$iface/accept_ra")"',
        // kube-proxy's ipvs mode needs the ip_vs module: loaded, built in, or loadable (modinfo).
        '  if [ -d /sys/module/ip_vs ] || { command -v modinfo >/dev/null 2>&1 && modinfo ip_vs >/dev/null 2>&1; }; then echo ipvsModule=yes; else echo ipvsModule=no; fi',
        "} | sed -e 's/^ID=/osId=/' -e 's/^VERSION_ID=/osVersionId=/' -e 's/^PRETTY_NAME=/osPrettyName=/' \\",
        `  -e "s/^\\([A-Za-z0-9_]*\\)=[\\"']\\(.*\\)[\\"']\$/\\1=\\2/" -e 's/[[:cntrl:]]//g' \\`,
        String.raw`  -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^\([A-Za-z0-9_]*\)=\(.*\)$/"\1":"\2",/'`,
        "printf '\"uid\":%s,\"viaSudo\":%s,\"interfaces\":%s,\"ipv6DefaultRoutes\":%s}\\n' \"$(id -u)\" \"$via_sudo\" \"$addrs\" \"$routes\"",
    );
}

/**
 * ipv6 create: records its decision first (so a failed run is still undone by delete), then adds
 * the address if missing and persists it with the host's network manager or a oneshot unit.
 * An address that was already there is left alone and not persisted: it belongs to whoever put
 * it there, and delete will not remove it.
 */
export function ipv6CreateScript(node: PlannedNode): string {
    return script(
        nodeVars(node),
        detectionFunctions(),
        putFileFunction(),
        HAS_ADDR,
        STATE_GET,
        REQUIRE_IFACE,
        'if [ -f "$state" ]; then',
        "  added=$(state_get added)",
        "  persist=$(state_get persist)",
        "  con=$(state_get nm_connection)",
        "else",
        '  if has_addr; then added=no; persist=none; else added=yes; persist=$(dualstack_persistence "$(dualstack_manager)"); fi',
        "  con=''",
        '  if [ "$persist" = networkmanager ]; then con=$(dualstack_nm_connection); fi',
        `  put_file "$state" 0644 "$(printf 'added=%s\\npersist=%s\\nnm_connection=%s\\ncidr=%s\\niface=%s\\n' "$added" "$persist" "$con" "$cidr" "$iface")"`,
        "fi",
        'if [ "$added" = yes ]; then',
        '  if ! has_addr; then ip -6 addr replace "$cidr" dev "$iface" nodad; echo "dualstack: added $cidr to $iface (persistence: $persist)"; fi',
        '  case "$persist" in',
        "    systemd)",
        `      put_file "$unit_path" 0644 ${q(systemdUnit(node))}`,
        '      if [ "$changed" = yes ]; then systemctl daemon-reload; fi',
        '      systemctl is-enabled --quiet "$unit" || systemctl enable --now "$unit"',
        "      ;;",
        "    netplan)",
        `      put_file "$netplan_path" 0600 ${q(netplanDropIn(node))}`,
        // generate validates and renders the backend config for the next boot; no apply, so the
        // running network (and this SSH session) is not reconfigured.
        '      if [ "$changed" = yes ]; then netplan generate; fi',
        "      ;;",
        "    networkmanager)",
        '      if ! nmcli -g ipv6.addresses connection show "$con" | tr "," "\\n" | sed "s/^ *//" | grep -qxF "$cidr"; then',
        '        nmcli connection modify "$con" +ipv6.addresses "$cidr"',
        "      fi",
        "      ;;",
        "    ifupdown)",
        `      put_file "$ifupdown_path" 0644 ${q(ifupdownStanza(node))}`,
        "      ;;",
        "    *) ;;",
        "  esac",
        "fi",
    );
}

/** ipv6 delete: undoes exactly what the state file says create did; nothing recorded, nothing done. */
export function ipv6DeleteScript(node: PlannedNode): string {
    return script(
        nodeVars(node),
        HAS_ADDR,
        STATE_GET,
        'if [ ! -f "$state" ]; then exit 0; fi',
        "added=$(state_get added)",
        "persist=$(state_get persist)",
        "con=$(state_get nm_connection)",
        'if [ "$added" = yes ]; then',
        '  case "$persist" in',
        "    systemd)",
        '      if systemctl is-enabled --quiet "$unit"; then systemctl disable --now "$unit"; fi',
        '      if [ -f "$unit_path" ]; then rm -f "$unit_path"; systemctl daemon-reload; fi',
        "      ;;",
        "    netplan)",
        '      if [ -f "$netplan_path" ]; then rm -f "$netplan_path"; netplan generate; fi',
        "      ;;",
        "    networkmanager)",
        '      if nmcli -g ipv6.addresses connection show "$con" | tr "," "\\n" | sed "s/^ *//" | grep -qxF "$cidr"; then',
        '        nmcli connection modify "$con" -ipv6.addresses "$cidr"',
        "      fi",
        "      ;;",
        "    ifupdown)",
        '      rm -f "$ifupdown_path"',
        "      ;;",
        "    *) ;;",
        "  esac",
        '  if ip link show dev "$iface" >/dev/null 2>&1 && has_addr; then ip -6 addr del "$cidr" dev "$iface"; fi',
        "fi",
        'rm -f "$state"',
        `rmdir ${q(STATE_DIR)} 2>/dev/null || true`,
    );
}

/**
 * sysctl create: records the running values (first run only), then one drop-in, applied on its
 * own (`sysctl -p FILE`, not --system).
 */
export function sysctlCreateScript(node: PlannedNode): string {
    return script(
        putFileFunction(),
        recordSysctlsLines(SYSCTL_STATE, hostSysctls(node)),
        `f=${q(SYSCTL_FILE)}`,
        `put_file "$f" 0644 ${q(sysctlDropIn(node))}`,
        'if [ "$changed" = yes ]; then echo "dualstack: wrote $f"; fi',
        // Applied every time: the values may have been changed since, and re-applying equal values changes nothing.
        'sysctl -q -p "$f" >/dev/null',
    );
}

/**
 * sysctl delete: removes the drop-in and writes the recorded values back. It runs after the
 * cluster's deletes (the cluster waits for host preparation), so no running cluster loses its
 * forwarding; with host preparation turned off under a live cluster it would (README).
 */
export function sysctlDeleteScript(node: PlannedNode): string {
    return script(
        `rm -f ${q(SYSCTL_FILE)}`,
        restoreSysctlsLines(SYSCTL_STATE, hostSysctls(node)),
        `rmdir ${q(STATE_DIR)} 2>/dev/null || true`,
    );
}

export type StepName = "facts" | "ipv6" | "sysctl";

export interface Step {
    name: StepName;
    /** Script bodies; the registered command is `remoteCommand(body, plan.ssh.sudo)`. */
    create: string;
    delete?: string;
}

export function hostPrepSteps(node: PlannedNode): Step[] {
    return [
        { name: "facts", create: factsScript(node) },
        { name: "ipv6", create: ipv6CreateScript(node), delete: ipv6DeleteScript(node) },
        { name: "sysctl", create: sysctlCreateScript(node), delete: sysctlDeleteScript(node) },
    ];
}

/** Files the ipv6 step may place, by persistence kind (NetworkManager keeps its own profile). */
export function persistenceFiles(node: PlannedNode): { kind: Persistence; path: string; content: string }[] {
    const p = hostPaths(node);
    return [
        { kind: "systemd", path: p.unit, content: systemdUnit(node) },
        { kind: "netplan", path: p.netplan, content: netplanDropIn(node) },
        { kind: "ifupdown", path: p.ifupdown, content: ifupdownStanza(node) },
    ];
}
