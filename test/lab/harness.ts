// The lab: real SSH test hosts on this machine. Each host is a network namespace joined to a
// bridge (which lives in its own lab namespace, so the machine's own namespace gets no interface,
// route or address), plus a private mount and UTS namespace in which Debian's sshd runs with its
// own host key and config. The directories the scripts write are private overlays or tmpfs, so a
// host can be changed, inspected and thrown away without touching the machine.
//
// The test process reaches the hosts through a small forwarder running inside the lab namespace,
// listening on a Unix socket (a path in the shared file system crosses namespaces; TCP does not).
// That keeps several labs (other helpers, parallel CI jobs) apart even though every lab uses the
// same 10.213.0.0/24 subnet.
import { ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import type { Duplex } from "node:stream";
import { Client } from "ssh2";

export interface ExecResult {
    code: number;
    stdout: string;
    stderr: string;
}

export interface LabHost {
    /** "h1", "h2", ... */
    name: string;
    /** Network namespace name. */
    netns: string;
    /** Uplink inside the host. */
    iface: string;
    /** e.g. 10.213.0.11 */
    ipv4: string;
    /** The address sshd listens on: `ipv4`, or the host's management IPv6 address (sshOverIPv6). */
    sshHost: string;
    /** Management IPv6 address (outside every stack's prefixes), only with sshOverIPv6. */
    ipv6?: string;
    /** `ssh-ed25519 AAAA...` of this host's sshd, for pinning. */
    hostKey: string;
    /** Real SSH (ssh2) as root, over the lab bridge, to `sshHost`. */
    ssh(command: string, opts?: { stdin?: string }): Promise<ExecResult>;
    /** Runs inside the host's namespaces directly, without SSH (for assertions only). */
    inspect(command: string): Promise<ExecResult>;
    /** Writes into the host's private file system. */
    writeFile(path: string, content: string, mode?: number): Promise<void>;
}

export interface SshTarget {
    host: string;
    port?: number;
    user?: string;
    privateKey: string;
    /** authorized_keys format; verified like the provider's FixedHostKey when set. */
    hostKey?: string;
}

export interface Lab {
    hosts: LabHost[];
    /** OpenSSH private key accepted by every host's root account. */
    privateKey: string;
    /** The bridge subnet. */
    subnet: string;
    /** A TCP stream to `host:port` inside the lab network (IPv4 or IPv6 literal). */
    dial(host: string, port: number): Promise<Duplex>;
    /** Runs one command over SSH against any lab address, as remote.Command would. */
    exec(target: SshTarget, command: string, opts?: { stdin?: string }): Promise<ExecResult>;
    /**
     * The forwarder's Unix socket: another process (the engine test's command provider double) reaches
     * the lab network through it with `forwarderExec`.
     */
    forwarder: string;
    destroy(): Promise<void>;
}

export const LAB_SUBNET = "10.213.0.0/24";
const BRIDGE_ADDR = "10.213.0.1";
const PREFIX = "dslab";
const SSHD = "/usr/sbin/sshd";
/** Session PATH: /usr/local/bin first, so the test doubles placed there win. */
export const LAB_PATH = "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin";
/** Directories a host keeps private: overlays over the machine's own (writes stay in the host). */
const OVERLAID = ["/etc", "/root", "/var/lib", "/var/log", "/usr/local", "/opt", "/srv"];
/** Directories a host gets empty (tmpfs). */
const TMPFS = ["/run", "/tmp", "/home"];
/**
 * Every directory a step may write (host preparation, k3s, k0s, Calico) starts as on a fresh host,
 * whatever the machine itself holds there (a machine that once ran k3s has /etc/rancher and
 * /usr/local/bin/k3s): removed inside the host's overlay, which only puts a whiteout in the host's
 * own upper layer (on its tmpfs) and never touches the machine. Not a tmpfs per path: the steps'
 * own deletes remove some of these directories (`rm -rf /var/lib/calico`), which a mount point
 * refuses (EBUSY), and a fresh host has no such directory at all.
 */
export const FRESH_ABSENT = [
    "/etc/rancher",
    "/etc/cni",
    "/etc/k0s",
    "/etc/dualstack",
    "/etc/netplan",
    "/etc/network",
    "/etc/NetworkManager",
    "/var/lib/rancher",
    "/var/lib/k0s",
    "/var/lib/calico",
    "/var/lib/cni",
    "/var/lib/dualstack",
    "/var/lib/kubelet",
    "/var/log/calico",
    "/opt/cni",
    "/opt/bin",
];
/** Directories every Linux host has: empty in a fresh lab host. */
export const FRESH_EMPTY = ["/etc/systemd/system", "/etc/sysctl.d", "/usr/local/bin"];
export const STATE_DIRS = [...FRESH_ABSENT, ...FRESH_EMPTY];
for (const d of STATE_DIRS) {
    if (!OVERLAID.some((o) => d.startsWith(`${o}/`))) throw new Error(`lab: ${d} is not inside a private overlay`);
}

/** The management IPv6 network of the bridge, for hosts reached over IPv6 only (never a stack prefix). */
const MGMT_V6_PREFIX = "fd00:dead:213::";
const MGMT_V6_BRIDGE = `${MGMT_V6_PREFIX}1`;

/** A login user on a host, reached with the lab's client key. */
export interface LabUser {
    name: string;
    /** `nopasswd`: sudo without a password; `password`: sudo asks for one (so `sudo -n` fails). */
    sudo: "nopasswd" | "password";
}

export interface HostOptions {
    /** sshd listens only on the host's management IPv6 address (no IPv4 SSH). */
    sshOverIPv6?: boolean;
    users?: LabUser[];
}
/** Where the recording systemctl double keeps its log inside each host. */
export const SYSTEMCTL_DOUBLE_LOG = "/run/systemctl-double/calls.log";

// A recording TEST DOUBLE of systemctl: systemd does not run inside a lab host. It logs every
// call and keeps enabled/active flags in files; `start`/`enable --now` run the unit's ExecStart
// lines so a oneshot unit really does its work, as systemd would at boot.
export const SYSTEMCTL_DOUBLE = `#!/bin/sh
# TEST DOUBLE of systemctl for the dualstack lab (systemd does not run inside a lab host).
# Records every call in ${SYSTEMCTL_DOUBLE_LOG} and keeps unit states under /run/systemctl-double.
set -u
st=/run/systemctl-double
mkdir -p "$st/enabled" "$st/active"
printf '%s\\n' "$*" >> "$st/calls.log"
unit_file() {
  for d in /etc/systemd/system /run/systemd/system /lib/systemd/system /usr/lib/systemd/system; do
    if [ -f "$d/$1" ]; then echo "$d/$1"; return 0; fi
  done
  return 1
}
norm() { case "$1" in *.*) echo "$1" ;; *) echo "$1.service" ;; esac; }
# The unit file, then its drop-ins (<unit>.d/*.conf), in the order systemd reads them.
unit_parts() {
  echo "$1"
  for d in /etc/systemd/system /run/systemd/system /lib/systemd/system /usr/lib/systemd/system; do
    for c in "$d/$2.d"/*.conf; do if [ -f "$c" ]; then echo "$c"; fi; done
  done
}
# As systemd does: Environment= and EnvironmentFile= (a leading - makes it optional) set the
# variables ExecStart expands; an empty ExecStart= clears the commands listed before it (how a
# drop-in such as kubeadm's 10-kubeadm.conf replaces the unit's command). One assignment per
# Environment= line is enough for the units the lab runs.
start_unit() {
  u=$(norm "$1")
  f=$(unit_file "$u") || { echo "Failed to start $u: Unit $u not found." >&2; return 5; }
  (
    execs=""
    for p in $(unit_parts "$f" "$u"); do
      while IFS= read -r line; do
        case "$line" in
          Environment=*) v=$(printf '%s' "\${line#Environment=}" | sed 's/^"//; s/"$//'); export "\${v%%=*}=\${v#*=}" ;;
          EnvironmentFile=*)
            ef=\${line#EnvironmentFile=}; optional=0
            case "$ef" in -*) ef=\${ef#-}; optional=1 ;; esac
            # shellcheck disable=SC1090
            if [ -f "$ef" ]; then set -a; . "$ef"; set +a
            elif [ $optional = 0 ]; then echo "$u: environment file $ef not found" >&2; exit 1; fi ;;
          ExecStart=) execs="" ;;
          ExecStart=*) execs="$execs\${line#ExecStart=}
" ;;
        esac
      done < "$p"
    done
    printf '%s' "$execs" | while IFS= read -r line; do sh -c "$line" || exit 1; done
  ) || return 1
  : > "$st/active/$u"
}
quiet=0; now=0; cmd=""; units=""
for a in "$@"; do
  case "$a" in
    -q|--quiet) quiet=1 ;;
    --now) now=1 ;;
    --no-block|--no-pager|--system) ;;
    -*) ;;
    *) if [ -z "$cmd" ]; then cmd=$a; else units="$units $a"; fi ;;
  esac
done
rc=0
case "$cmd" in
  daemon-reload|reset-failed) ;;
  is-active)
    for u in $units; do u=$(norm "$u")
      if [ -e "$st/active/$u" ]; then [ $quiet = 1 ] || echo active; else [ $quiet = 1 ] || echo inactive; rc=3; fi
    done ;;
  is-enabled)
    for u in $units; do u=$(norm "$u")
      if [ -e "$st/enabled/$u" ]; then [ $quiet = 1 ] || echo enabled; else [ $quiet = 1 ] || echo disabled; rc=1; fi
    done ;;
  enable)
    for u in $units; do u=$(norm "$u")
      unit_file "$u" >/dev/null || { echo "Failed to enable unit: Unit file $u does not exist." >&2; exit 1; }
      : > "$st/enabled/$u"
      if [ $now = 1 ]; then start_unit "$u" || rc=1; fi
    done ;;
  disable)
    for u in $units; do u=$(norm "$u"); rm -f "$st/enabled/$u"; [ $now = 0 ] || rm -f "$st/active/$u"; done ;;
  start|restart|reload-or-restart)
    for u in $units; do start_unit "$u" || rc=1; done ;;
  stop)
    for u in $units; do rm -f "$st/active/$(norm "$u")"; done ;;
  *) ;;
esac
exit $rc
`;

function have(cmd: string): boolean {
    return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

/** Throws, saying what to install, when the lab cannot run here. It never skips. */
export function requireLabPrerequisites(): void {
    const missing: string[] = [];
    const packages = new Set<string>();
    if (typeof process.getuid === "function" && process.getuid() !== 0) missing.push("root (network namespaces and mounts need it): run the lab as root");
    if (!fs.existsSync(SSHD)) {
        missing.push(`${SSHD}`);
        packages.add("openssh-server");
    }
    if (!have("ssh-keygen")) {
        missing.push("ssh-keygen");
        packages.add("openssh-server");
    }
    if (!have("ip")) {
        missing.push("ip");
        packages.add("iproute2");
    }
    if (!have("ping")) {
        missing.push("ping");
        packages.add("iputils-ping");
    }
    if (!have("sudo") || !fs.existsSync("/etc/sudoers")) {
        missing.push("sudo");
        packages.add("sudo");
    }
    if (!have("useradd")) {
        missing.push("useradd");
        packages.add("passwd");
    }
    for (const c of ["unshare", "nsenter", "mount"]) {
        if (!have(c)) {
            missing.push(c);
            packages.add("util-linux mount");
        }
    }
    if (missing.length > 0) {
        const install = packages.size > 0 ? `\ninstall: apt-get install -y ${[...packages].join(" ")}` : "";
        throw new Error(`the dualstack lab cannot run: missing ${missing.join(", ")}${install}`);
    }
}

function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ExecResult> {
    return new Promise((resolve) => {
        const child = execFile(cmd, args, { env: opts.env ?? process.env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
            const code = err ? (typeof (err as any).code === "number" ? (err as any).code : 1) : 0;
            resolve({ code, stdout: String(stdout), stderr: String(stderr) });
        });
        // A command that does not read its stdin may exit before we finish writing it.
        child.stdin?.on("error", () => undefined);
        // A child that exits before reading its input must not crash the lab with EPIPE.
        child.stdin?.on("error", () => undefined);
        child.stdin?.end(opts.input ?? "");
    });
}

async function must(cmd: string, args: string[], opts: { input?: string } = {}): Promise<string> {
    const r = await run(cmd, args, opts);
    if (r.code !== 0) throw new Error(`lab: ${cmd} ${args.join(" ")} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
}

function pidAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (e) {
        return (e as NodeJS.ErrnoException).code === "EPERM";
    }
}

function killNetnsSync(ns: string): void {
    const pids = spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).stdout ?? "";
    for (const p of pids.split(/\s+/).filter(Boolean)) {
        try {
            process.kill(Number(p), "SIGKILL");
        } catch {
            /* already gone */
        }
    }
    spawnSync("ip", ["netns", "del", ns], { stdio: "ignore" });
}

function labNamespacesSync(): string[] {
    const out = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout ?? "";
    return out
        .split("\n")
        .map((l) => l.split(" ")[0])
        .filter((n) => n.startsWith(`${PREFIX}-`));
}

/** Removes namespaces and directories left by earlier lab runs whose process is gone. */
export function cleanupStaleLabs(): string[] {
    const removed: string[] = [];
    for (const ns of labNamespacesSync()) {
        const pid = Number(ns.split("-")[1]);
        if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !pidAlive(pid)) {
            killNetnsSync(ns);
            removed.push(ns);
        }
    }
    const base = "/var/tmp";
    for (const d of fs.existsSync(base) ? fs.readdirSync(base) : []) {
        const m = /^dslab-(\d+)-/.exec(d);
        if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) {
            fs.rmSync(path.join(base, d), { recursive: true, force: true });
            removed.push(path.join(base, d));
        }
    }
    return removed;
}

// The forwarder inside the lab namespace: reads "host port\n" from each Unix-socket client, then
// pipes the stream to that TCP endpoint.
const FORWARDER = `
const net = require("node:net");
const sock = process.argv[1];
const server = net.createServer((c) => {
  let buf = Buffer.alloc(0);
  const onData = (d) => {
    buf = Buffer.concat([buf, d]);
    const nl = buf.indexOf(10);
    if (nl < 0) return;
    c.removeListener("data", onData);
    c.pause();
    const [host, port] = buf.subarray(0, nl).toString().trim().split(" ");
    const rest = buf.subarray(nl + 1);
    const t = net.connect({ host, port: Number(port) });
    t.on("error", () => c.destroy());
    c.on("error", () => t.destroy());
    c.on("close", () => t.destroy());
    t.on("close", () => c.destroy());
    if (rest.length) t.write(rest);
    c.pipe(t); t.pipe(c); c.resume();
  };
  c.on("data", onData);
});
server.listen(sock, () => process.stdout.write("ready\\n"));
process.on("SIGTERM", () => process.exit(0));
`;

let labCounter = 0;
const liveLabs = new Set<() => void>();
let hooksInstalled = false;

function installExitHooks(): void {
    if (hooksInstalled) return;
    hooksInstalled = true;
    const cleanAll = () => {
        for (const f of [...liveLabs]) f();
    };
    process.on("exit", cleanAll);
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        process.on(sig, () => {
            cleanAll();
            process.exit(128 + (sig === "SIGINT" ? 2 : sig === "SIGTERM" ? 15 : 1));
        });
    }
}

function hostSetupScript(labDir: string, h: string, opts: HostOptions = {}): string {
    const fsDir = path.join(labDir, h, "fs");
    const lines = [
        "set -eu",
        `S=${fsDir}`,
        // Private file system: overlays whose upper layers live on a tmpfs only this host sees.
        `mount -t tmpfs -o mode=0755 dslab-${h} "$S"`,
        ...OVERLAID.map(
            (d, i) =>
                `mkdir -p "$S/u${i}" "$S/w${i}" && mount -t overlay dslab-${h} -o "lowerdir=${d},upperdir=$S/u${i},workdir=$S/w${i}" ${d}`,
        ),
        ...TMPFS.map((d) => `mount -t tmpfs -o mode=${d === "/tmp" ? "1777" : "0755"} dslab-${h} ${d}`),
        // Removal below happens only inside this host's overlays: refuse to go on if one is missing.
        ...OVERLAID.map((d) => `[ "$(stat -f -c %T ${d})" = overlayfs ] || { echo "lab: ${d} is not an overlay in ${h}" >&2; exit 1; }`),
        `rm -rf ${STATE_DIRS.join(" ")}`,
        `mkdir -p ${FRESH_EMPTY.join(" ")}`,
        // sudo resolves its own host name; without this it warns on every call.
        `printf '127.0.1.1 %s\\n' ${h} >> /etc/hosts`,
        ...(opts.users ?? []).flatMap((u) => [
            // '*' instead of useradd's locked '!': sshd (UsePAM no) refuses locked accounts.
            `useradd -m -s /bin/sh -p '*' ${u.name}`,
            `install -d -m 0700 -o ${u.name} /home/${u.name}/.ssh`,
            `install -m 0600 -o ${u.name} ${path.join(labDir, "authorized_keys")} /home/${u.name}/.ssh/authorized_keys`,
            `printf '%s\\n' ${JSON.stringify(`${u.name} ALL=(ALL) ${u.sudo === "nopasswd" ? "NOPASSWD: " : ""}ALL`)} > /etc/sudoers.d/dslab-${u.name}`,
            `chmod 0440 /etc/sudoers.d/dslab-${u.name}`,
        ]),
        // sshd's privilege separation directory; /run/systemd/system is how sd_booted() and
        // scripts tell that systemd is the init system (its systemctl is a double, see above).
        "mkdir -p /run/sshd /run/systemd/system /run/systemctl-double",
        `hostname ${h}`,
        // A fresh host's root has no developer dotfiles: bash would source this machine's
        // ~/.bashrc for SSH commands and put its own PATH entries before /usr/local/bin.
        "rm -f /root/.bashrc /root/.profile /root/.bash_profile /root/.bash_login",
        "mkdir -p /usr/local/bin",
        `cp ${path.join(labDir, "systemctl-double")} /usr/local/bin/systemctl`,
        "chmod 0755 /usr/local/bin/systemctl",
        `exec ${SSHD} -D -e -f ${path.join(labDir, h, "sshd_config")}`,
    ];
    return lines.join("\n");
}

function sshdConfig(labDir: string, h: string, listen?: string): string {
    return [
        ...(listen ? [`ListenAddress ${listen}`] : ["ListenAddress 0.0.0.0", "ListenAddress ::"]),
        "Port 22",
        `HostKey ${path.join(labDir, h, "ssh_host_ed25519_key")}`,
        "PidFile none",
        "PermitRootLogin prohibit-password",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        // Root reads the lab's file; other users (sshd reads as them) their own copy of it.
        `AuthorizedKeysFile ${path.join(labDir, "authorized_keys")} .ssh/authorized_keys`,
        "StrictModes no",
        "UsePAM no",
        "PrintMotd no",
        "LogLevel ERROR",
        "MaxStartups 100:30:200",
        "MaxSessions 50",
        // DUALSTACK_LAB_SHARED: a directory every host of this lab sees (the lab's own, under
        // /var/tmp, which no host overlays): the k3s double's node registry lives there, so a
        // re-installed agent shows up again on its server, as a real kubelet re-registers.
        `SetEnv PATH=${LAB_PATH} DUALSTACK_LAB_SHARED=${path.join(labDir, "shared")}`,
        "",
    ].join("\n");
}

function keyBlob(hostKey: string): Buffer {
    const parts = hostKey.trim().split(/\s+/);
    if (parts.length < 2) throw new Error(`not an authorized_keys-format key: ${hostKey}`);
    return Buffer.from(parts[1], "base64");
}

function sshExec(sock: Duplex, target: SshTarget, command: string, stdin?: string): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
        const client = new Client();
        let settled = false;
        const fail = (e: Error) => {
            if (settled) return;
            settled = true;
            client.end();
            reject(e);
        };
        client.on("error", (e) => fail(new Error(`ssh ${target.host}: ${e.message}`)));
        client.on("ready", () => {
            client.exec(command, (err, ch) => {
                if (err) return fail(err);
                const out: Buffer[] = [];
                const errOut: Buffer[] = [];
                let code = -1;
                ch.on("data", (d: Buffer) => out.push(d));
                ch.stderr.on("data", (d: Buffer) => errOut.push(d));
                ch.on("exit", (c: number | null, signal?: string) => {
                    code = c ?? (signal ? 128 : -1);
                });
                ch.on("close", () => {
                    if (settled) return;
                    settled = true;
                    client.end();
                    resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(errOut).toString("utf8") });
                });
                ch.end(stdin ?? "");
            });
        });
        const expected = target.hostKey ? keyBlob(target.hostKey) : undefined;
        client.connect({
            sock,
            host: target.host,
            port: target.port ?? 22,
            username: target.user ?? "root",
            privateKey: target.privateKey,
            readyTimeout: 15000,
            // As the provider does with FixedHostKey: only this key, and only its algorithm.
            ...(expected
                ? {
                      hostVerifier: (key: Buffer) => key.equals(expected),
                      algorithms: { serverHostKey: [target.hostKey!.trim().split(/\s+/)[0] as any] },
                  }
                : {}),
        });
    });
}

/** A TCP dialer and an SSH runner into the lab network through a forwarder socket (any process). */
export function forwarderExec(fwdSock: string): Pick<Lab, "dial" | "exec"> {
    const dial = (host: string, port: number): Promise<Duplex> =>
        new Promise((resolve, reject) => {
            const s = net.connect(fwdSock, () => {
                s.write(`${host} ${port}\n`);
                resolve(s);
            });
            s.once("error", reject);
        });
    const exec = async (target: SshTarget, command: string, o: { stdin?: string } = {}) =>
        sshExec(await dial(target.host, target.port ?? 22), target, command, o.stdin);
    return { dial, exec };
}

/** Builds `opts.hosts` SSH test hosts. Call `destroy()` when done (exit hooks also clean up). */
export async function createLab(opts: { hosts: number; name?: string; hostOptions?: Record<string, HostOptions> }): Promise<Lab> {
    requireLabPrerequisites();
    if (!(opts.hosts >= 1 && opts.hosts <= 200)) throw new Error("lab: hosts must be within 1..200");
    installExitHooks();
    cleanupStaleLabs();
    const tag = (opts.name ?? "lab").replace(/[^a-z0-9]/gi, "").slice(0, 8) || "lab";
    const id = `${PREFIX}-${process.pid}-${++labCounter}${tag}`;
    const labDir = fs.mkdtempSync(path.join("/var/tmp", `${id}-`));
    const brNs = `${id}-br`;
    const names = Array.from({ length: opts.hosts }, (_, i) => `h${i + 1}`);
    const hostNs = (h: string) => `${id}-${h}`;
    const children: ChildProcess[] = [];
    const namespaces = [brNs, ...names.map(hostNs)];
    let destroyed = false;

    const destroySync = () => {
        if (destroyed) return;
        destroyed = true;
        liveLabs.delete(destroySync);
        for (const c of children) {
            try {
                c.kill("SIGKILL");
            } catch {
                /* gone */
            }
        }
        for (const ns of namespaces) killNetnsSync(ns);
        fs.rmSync(labDir, { recursive: true, force: true });
    };
    liveLabs.add(destroySync);

    try {
        // Keys: one client key per lab, one host key per host.
        const clientKey = path.join(labDir, "id_lab");
        await must("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `${id}-client`, "-f", clientKey]);
        fs.copyFileSync(`${clientKey}.pub`, path.join(labDir, "authorized_keys"));
        fs.writeFileSync(path.join(labDir, "systemctl-double"), SYSTEMCTL_DOUBLE, { mode: 0o755 });
        fs.mkdirSync(path.join(labDir, "shared"));
        const privateKey = fs.readFileSync(clientKey, "utf8");

        // The switch: a bridge in its own namespace. IPv6 is off on the bridge itself so that
        // the hosts see no router and no address but their own.
        await must("ip", ["netns", "add", brNs]);
        const inBr = (...args: string[]) => must("ip", ["-n", brNs, ...args]);
        await inBr("link", "set", "lo", "up");
        await inBr("link", "add", "br0", "type", "bridge", "mcast_snooping", "0");
        await must("ip", ["netns", "exec", brNs, "sysctl", "-q", "-w", "net.ipv6.conf.br0.disable_ipv6=1"]);
        await inBr("addr", "add", `${BRIDGE_ADDR}/24`, "dev", "br0");
        await inBr("link", "set", "br0", "up");
        // Only a lab with a host reached over IPv6 gives the bridge an IPv6 address (the
        // forwarder dials from it); Linux sends no router advertisements, so hosts still get none.
        if (Object.values(opts.hostOptions ?? {}).some((o) => o.sshOverIPv6)) {
            await must("ip", ["netns", "exec", brNs, "sysctl", "-q", "-w", "net.ipv6.conf.br0.disable_ipv6=0"]);
            await inBr("addr", "add", `${MGMT_V6_BRIDGE}/64`, "dev", "br0", "nodad");
        }

        // The forwarder that lets this process reach the lab network.
        const fwdSock = path.join(labDir, "fwd.sock");
        const fwd = spawn("ip", ["netns", "exec", brNs, process.execPath, "-e", FORWARDER, fwdSock], { stdio: ["ignore", "pipe", "inherit"] });
        children.push(fwd);
        await new Promise<void>((resolve, reject) => {
            fwd.stdout!.once("data", () => resolve());
            fwd.once("exit", (c) => reject(new Error(`lab forwarder exited (${c})`)));
        });

        const { dial, exec } = forwarderExec(fwdSock);

        const hosts = await Promise.all(
            names.map(async (h, i): Promise<LabHost> => {
                const ns = hostNs(h);
                const ipv4 = `10.213.0.${11 + i}`;
                const hostOpts = opts.hostOptions?.[h] ?? {};
                const ipv6 = hostOpts.sshOverIPv6 ? `${MGMT_V6_PREFIX}${(11 + i).toString(16)}` : undefined;
                const sshHost = ipv6 ?? ipv4;
                fs.mkdirSync(path.join(labDir, h, "fs"), { recursive: true });
                const hk = path.join(labDir, h, "ssh_host_ed25519_key");
                await must("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", hk]);
                const hostKey = fs.readFileSync(`${hk}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
                fs.writeFileSync(path.join(labDir, h, "sshd_config"), sshdConfig(labDir, h, ipv6));

                await must("ip", ["netns", "add", ns]);
                await inBr("link", "add", h, "type", "veth", "peer", "name", "eth0", "netns", ns);
                await inBr("link", "set", h, "master", "br0", "up");
                const inHost = (...args: string[]) => must("ip", ["-n", ns, ...args]);
                await inHost("link", "set", "lo", "up");
                await inHost("addr", "add", `${ipv4}/24`, "dev", "eth0");
                await inHost("link", "set", "eth0", "up");
                await inHost("route", "add", "default", "via", BRIDGE_ADDR);
                if (ipv6) await inHost("addr", "add", `${ipv6}/64`, "dev", "eth0", "nodad");

                const sshd = spawn("ip", ["netns", "exec", ns, "unshare", "--mount", "--uts", "--propagation", "private", "sh", "-c", hostSetupScript(labDir, h, hostOpts)], {
                    stdio: ["ignore", "ignore", "pipe"],
                });
                children.push(sshd);
                let sshdErr = "";
                sshd.stderr!.on("data", (d) => (sshdErr += String(d)));
                // exec chain (ip netns exec -> unshare -> sh -> sshd) keeps one pid: sshd's.
                const pid = sshd.pid!;
                const nsenterArgs = (command: string, args: string[], input?: string) =>
                    run("nsenter", ["-t", String(pid), "-m", "-n", "-u", "--", "sh", "-c", command, "sh", ...args], { input, env: { ...process.env, PATH: LAB_PATH } });
                const nsenter = (command: string) => nsenterArgs(command, []);

                const target: SshTarget = { host: sshHost, privateKey, hostKey };
                // Wait for sshd: a handshake succeeds.
                const deadline = Date.now() + 15000;
                for (;;) {
                    if (sshd.exitCode !== null) throw new Error(`lab: sshd of ${h} exited (${sshd.exitCode}): ${sshdErr.trim()}`);
                    try {
                        const r = await exec(target, "true");
                        if (r.code === 0) break;
                    } catch (e) {
                        if (Date.now() > deadline) throw new Error(`lab: sshd of ${h} not reachable: ${(e as Error).message} ${sshdErr.trim()}`);
                    }
                    await new Promise((r) => setTimeout(r, 20));
                }
                return {
                    name: h,
                    netns: ns,
                    iface: "eth0",
                    ipv4,
                    sshHost,
                    ...(ipv6 ? { ipv6 } : {}),
                    hostKey,
                    ssh: (command, o) => exec(target, command, o),
                    inspect: (command) => nsenter(command),
                    writeFile: async (file, content, mode = 0o644) => {
                        const r = await nsenterArgs(`mkdir -p "$(dirname "$1")" && cat > "$1" && chmod "$2" "$1"`, [file, mode.toString(8)], content);
                        if (r.code !== 0) throw new Error(`lab: writing ${file} on ${h} failed: ${r.stderr}`);
                    },
                };
            }),
        );

        return {
            hosts,
            privateKey,
            subnet: LAB_SUBNET,
            dial,
            exec,
            forwarder: fwdSock,
            destroy: async () => {
                destroySync();
                // Reap the killed sshd/forwarder processes so none lingers, even as a zombie.
                await Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once("exit", r)))));
            },
        };
    } catch (e) {
        destroySync();
        throw e;
    }
}

/** True when no namespace of this process's labs is left (for the teardown test). */
export function leftoverNamespaces(): string[] {
    return labNamespacesSync().filter((n) => n.startsWith(`${PREFIX}-${process.pid}-`));
}

