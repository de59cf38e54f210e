// dualstack:cluster.etcdSnapshots: {schedule, retention}. Pure.
//
// - k3s: `etcd-snapshot-schedule-cron` and `etcd-snapshot-retention` in each server's config.yaml
//   (docs.k3s.io/cli/etcd-snapshot; defaults "0 */12 * * *" and 5). k3s snapshots embedded etcd
//   only, i.e. with more than one server (a single server keeps SQLite here, plan: cluster-init).
// - k0s: `k0s backup --save-path <dir>` on each controller from a systemd timer, into a root-only
//   directory, keeping the newest `retention` archives (`k0s_backup_<timestamp>.tar.gz`,
//   docs.k0sproject.io backup.md; it covers etcd and kine/SQLite, so single-node k0s too).
// - kubeadm: stacked etcd runs as a static pod, and etcdctl is not on the host. A systemd timer
//   on each control plane runs `etcdctl snapshot save` from the etcd image the kubelet already
//   pulled (named in /etc/kubernetes/manifests/etcd.yaml, so it follows upgrades), through
//   containerd's own `ctr` (shipped with containerd; crictl may be absent in air-gap installs
//   and cannot start a one-off container), against the local member (https://127.0.0.1:2379,
//   kubeadm's etcd listens there) with kubeadm's etcd healthcheck-client certificate (kubernetes.io
//   "Operating etcd clusters for Kubernetes": Snapshot using etcdctl options). Nothing is downloaded.
// The schedule is one cron expression for both; systemd's OnCalendar is derived from it.
import { z } from "zod";
import type { DayTwoProfile } from "./distributions/profile";
import { findings, Findings } from "./findings";
import { q } from "./shell";

const KEY = "dualstack:cluster.etcdSnapshots";

export const etcdSnapshotsSchema = z.strictObject({
    schedule: z.string().min(1).default("0 */12 * * *"),
    retention: z.number().int().min(1).max(1000).default(5),
});

export type EtcdSnapshots = z.infer<typeof etcdSnapshotsSchema>;

const FIELDS = [
    { name: "minute", min: 0, max: 59 },
    { name: "hour", min: 0, max: 23 },
    { name: "day of month", min: 1, max: 31 },
    { name: "month", min: 1, max: 12 },
    { name: "day of week", min: 0, max: 7 },
] as const;

/** One cron field as the sorted values it matches, or undefined for `*`; throws on bad syntax. */
function expandField(text: string, min: number, max: number, what: string): number[] | undefined {
    if (text === "*") return undefined;
    const values = new Set<number>();
    for (const part of text.split(",")) {
        const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
        if (!m) throw new Error(`the ${what} field ${JSON.stringify(text)} is not a number, range, list or step`);
        const lo = m[1] === "*" ? min : Number(m[2]);
        const hi = m[1] === "*" ? max : m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? max : lo;
        const step = m[4] !== undefined ? Number(m[4]) : 1;
        if (lo < min || hi > max || lo > hi || step < 1) throw new Error(`the ${what} field ${JSON.stringify(text)} is outside ${min}-${max}`);
        for (let v = lo; v <= hi; v += step) values.add(v);
    }
    return [...values].sort((a, b) => a - b);
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const two = (n: number) => String(n).padStart(2, "0");

/**
 * systemd OnCalendar for a five-field cron expression (minute hour day-of-month month
 * day-of-week; numbers, `*`, ranges, lists and steps). Throws with the reason when it cannot be
 * expressed: cron ORs a restricted day-of-month with a restricted day-of-week, systemd ANDs them.
 */
export function cronToOnCalendar(cron: string): string {
    const parts = cron.trim().split(/\s+/);
    if (parts.length !== 5) throw new Error("is not a five-field cron expression (minute hour day-of-month month day-of-week)");
    const [min, hour, dom, mon, dow] = parts.map((p, i) => expandField(p, FIELDS[i].min, FIELDS[i].max, FIELDS[i].name));
    if (dom && dow) throw new Error("restricts both day of month and day of week, which cron combines with OR and systemd with AND");
    const list = (v: number[] | undefined) => (v ? v.map(two).join(",") : "*");
    const days = dow ? [...new Set(dow.map((d) => DAYS[d]))].join(",") + " " : "";
    return `${days}*-${list(mon)}-${list(dom)} ${list(hour)}:${list(min)}:00`;
}

export interface SnapshotContext {
    /** When the distribution takes snapshots at all (its profile's day-two entry). */
    profile: DayTwoProfile["etcdSnapshots"];
    controlPlanes: number;
}

export function etcdSnapshotFindings(s: EtcdSnapshots | undefined, c: SnapshotContext): Findings {
    const f = findings();
    if (!s) return f;
    const { unsupported, minControlPlanes: min } = c.profile;
    if (unsupported) {
        f.error(KEY, s, unsupported.rule, unsupported.fix);
        return f;
    }
    if (min && c.controlPlanes < min.count) f.error(KEY, s, min.rule, min.fix);
    try {
        cronToOnCalendar(s.schedule);
    } catch (e) {
        f.error(`${KEY}.schedule`, s.schedule, (e as Error).message, "write five fields, e.g. 0 */12 * * * (every 12 hours) or 30 2 * * * (daily at 02:30)");
    }
    return f;
}

/** The config.yaml keys of a k3s server. */
export function k3sSnapshotSettings(s: EtcdSnapshots): Record<string, unknown> {
    return { "etcd-snapshot-schedule-cron": s.schedule, "etcd-snapshot-retention": s.retention };
}

export const K0S_BACKUP_DIR = "/var/lib/dualstack/k0s-backups";
export const K0S_BACKUP_UNIT = "dualstack-k0s-backup";

/** A oneshot service writing into `dir` and pruning all but the newest `retention` files matching `glob`, and its timer. */
interface SnapshotUnit {
    what: string;
    dir: string;
    after: string;
    execStart: string;
    /** Files in `dir` that are complete snapshots (no spaces in their names). */
    glob: string;
}

function snapshotUnits(s: EtcdSnapshots, u: SnapshotUnit): { service: string; timer: string } {
    const service = [
        "# written by dualstack (dualstack:cluster.etcdSnapshots)",
        "[Unit]",
        `Description=${u.what} into ${u.dir}`,
        `After=${u.after}`,
        "",
        "[Service]",
        "Type=oneshot",
        "UMask=0077",
        `ExecStart=${u.execStart}`,
        // Newest first; everything past `retention` goes. Archive names carry no spaces.
        `ExecStartPost=/bin/sh -c 'ls -1t ${u.dir}/${u.glob} | tail -n +${s.retention + 1} | xargs -r rm -f --'`,
        "",
    ].join("\n");
    const timer = [
        "# written by dualstack (dualstack:cluster.etcdSnapshots)",
        "[Unit]",
        `Description=${u.what} schedule (cron ${s.schedule})`,
        "",
        "[Timer]",
        `OnCalendar=${cronToOnCalendar(s.schedule)}`,
        "Persistent=true",
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ].join("\n");
    return { service, timer };
}

/** The systemd service and timer that run `k0s backup` and prune old archives. */
export function k0sBackupUnits(s: EtcdSnapshots, k0sBinary: string): { service: string; timer: string } {
    return snapshotUnits(s, { what: "k0s backup", dir: K0S_BACKUP_DIR, after: "k0scontroller.service", execStart: `${k0sBinary} backup --save-path ${K0S_BACKUP_DIR}`, glob: "k0s_backup_*.tar.gz" });
}

const UNIT_DIR = "/etc/systemd/system";

/** Installs and starts a snapshot timer: its root-only directory, the units, then (re)starts the timer. */
function timerCreateLines(dir: string, unit: string, units: { service: string; timer: string }): string[] {
    return [
        `mkdir -p ${q(dir)}`,
        `chmod 0700 ${q(dir)}`,
        `printf '%s' ${q(units.service)} > ${q(`${UNIT_DIR}/${unit}.service`)}`,
        `printf '%s' ${q(units.timer)} > ${q(`${UNIT_DIR}/${unit}.timer`)}`,
        "systemctl daemon-reload",
        `systemctl enable --now ${q(`${unit}.timer`)}`,
        // enable --now does not pick up a changed schedule of an active timer.
        `systemctl restart ${q(`${unit}.timer`)}`,
    ];
}

/** Stops and removes a snapshot timer; the snapshots stay (they are what a restore needs), the directory only if empty. */
function timerDeleteLines(dir: string, unit: string, extraFiles: string[] = []): string[] {
    return [
        `systemctl disable --now ${q(`${unit}.timer`)} 2>/dev/null || true`,
        `rm -f ${[`${UNIT_DIR}/${unit}.service`, `${UNIT_DIR}/${unit}.timer`, ...extraFiles].map(q).join(" ")}`,
        "systemctl daemon-reload 2>/dev/null || true",
        `rmdir ${q(dir)} 2>/dev/null || echo ${q(`dualstack: keeping the backups in ${dir}`)}`,
    ];
}

/** Installs and starts the backup timer on a controller. Existing archives are never touched. */
export function k0sBackupCreateLines(s: EtcdSnapshots, k0sBinary: string): string[] {
    return timerCreateLines(K0S_BACKUP_DIR, K0S_BACKUP_UNIT, k0sBackupUnits(s, k0sBinary));
}

/** Stops and removes the timer; the backups stay (they are what a restore needs), the directory only if empty. */
export function k0sBackupDeleteLines(): string[] {
    return timerDeleteLines(K0S_BACKUP_DIR, K0S_BACKUP_UNIT);
}

export const KUBEADM_SNAPSHOT_DIR = "/var/lib/dualstack/etcd-snapshots";
export const KUBEADM_SNAPSHOT_UNIT = "dualstack-etcd-snapshot";
/** The script the service runs (root only: it reads etcd's client key). */
export const KUBEADM_SNAPSHOT_SCRIPT = "/usr/local/sbin/dualstack-etcd-snapshot";
const ETCD_PKI = "/etc/kubernetes/pki/etcd";
const ETCD_MANIFEST = "/etc/kubernetes/manifests/etcd.yaml";

/**
 * The snapshot script: `etcdctl snapshot save` in a one-off container of the etcd image (host
 * network, etcd's PKI read-only, the snapshot directory), into a `.part` file renamed when complete
 * so a failed run never counts as a snapshot.
 */
export function kubeadmSnapshotScript(): string {
    return [
        "#!/bin/sh",
        "# written by dualstack (dualstack:cluster.etcdSnapshots): an etcd snapshot of the local etcd member",
        "set -eu",
        `dir=${q(KUBEADM_SNAPSHOT_DIR)}`,
        `image=$(sed -n 's/^[[:space:]]*image:[[:space:]]*//p' ${q(ETCD_MANIFEST)} | head -n 1)`,
        `if [ -z "$image" ]; then echo ${q(`dualstack: no etcd image in ${ETCD_MANIFEST}`)} >&2; exit 1; fi`,
        'name="etcd-snapshot-$(date -u +%Y%m%dT%H%M%SZ)"',
        `trap 'rm -f "$dir/$name.db.part"' EXIT`,
        "ctr -n k8s.io run --rm --net-host \\",
        `    --mount ${q(`type=bind,src=${ETCD_PKI},dst=${ETCD_PKI},options=rbind:ro`)} \\`,
        '    --mount "type=bind,src=$dir,dst=/snapshots,options=rbind:rw" \\',
        '    "$image" "dualstack-$name" \\',
        `    etcdctl --endpoints=https://127.0.0.1:2379 --cacert=${q(`${ETCD_PKI}/ca.crt`)} --cert=${q(`${ETCD_PKI}/healthcheck-client.crt`)} --key=${q(`${ETCD_PKI}/healthcheck-client.key`)} \\`,
        '    snapshot save "/snapshots/$name.db.part"',
        'chmod 0600 "$dir/$name.db.part"',
        'mv -f "$dir/$name.db.part" "$dir/$name.db"',
        "",
    ].join("\n");
}

/** The systemd service and timer that run the snapshot script and prune old snapshots. */
export function kubeadmSnapshotUnits(s: EtcdSnapshots): { service: string; timer: string } {
    return snapshotUnits(s, { what: "etcd snapshot", dir: KUBEADM_SNAPSHOT_DIR, after: "kubelet.service", execStart: KUBEADM_SNAPSHOT_SCRIPT, glob: "etcd-snapshot-*.db" });
}

/** Installs the script, the units and starts the timer on a control plane. Existing snapshots are never touched. */
export function kubeadmSnapshotCreateLines(s: EtcdSnapshots): string[] {
    return [
        `mkdir -p ${q(KUBEADM_SNAPSHOT_SCRIPT.slice(0, KUBEADM_SNAPSHOT_SCRIPT.lastIndexOf("/")))}`,
        "# The script is written as is: its $ expand when the timer runs it, not here.",
        "# shellcheck disable=SC2016",
        `(umask 077 && printf '%s' ${q(kubeadmSnapshotScript())} > ${q(KUBEADM_SNAPSHOT_SCRIPT)})`,
        `chmod 0700 ${q(KUBEADM_SNAPSHOT_SCRIPT)}`,
        ...timerCreateLines(KUBEADM_SNAPSHOT_DIR, KUBEADM_SNAPSHOT_UNIT, kubeadmSnapshotUnits(s)),
    ];
}

export function kubeadmSnapshotDeleteLines(): string[] {
    return timerDeleteLines(KUBEADM_SNAPSHOT_DIR, KUBEADM_SNAPSHOT_UNIT, [KUBEADM_SNAPSHOT_SCRIPT]);
}
