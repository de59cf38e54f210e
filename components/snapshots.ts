// dualstack:cluster.etcdSnapshots: {schedule, retention}. Pure.
//
// - k3s: `etcd-snapshot-schedule-cron` and `etcd-snapshot-retention` in each server's config.yaml
//   (docs.k3s.io/cli/etcd-snapshot; defaults "0 */12 * * *" and 5). k3s snapshots embedded etcd
//   only, i.e. with more than one server (a single server keeps SQLite here, plan: cluster-init).
// - k0s: `k0s backup --save-path <dir>` on each controller from a systemd timer, into a root-only
//   directory, keeping the newest `retention` archives (`k0s_backup_<timestamp>.tar.gz`,
//   docs.k0sproject.io backup.md; it covers etcd and kine/SQLite, so single-node k0s too).
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

/** The systemd service and timer that run `k0s backup` and prune old archives. */
export function k0sBackupUnits(s: EtcdSnapshots, k0sBinary: string): { service: string; timer: string } {
    const service = [
        "# written by dualstack (dualstack:cluster.etcdSnapshots)",
        "[Unit]",
        "Description=k0s backup into " + K0S_BACKUP_DIR,
        "After=k0scontroller.service",
        "",
        "[Service]",
        "Type=oneshot",
        "UMask=0077",
        `ExecStart=${k0sBinary} backup --save-path ${K0S_BACKUP_DIR}`,
        // Newest first; everything past `retention` goes. Archive names carry no spaces.
        `ExecStartPost=/bin/sh -c 'ls -1t ${K0S_BACKUP_DIR}/k0s_backup_*.tar.gz | tail -n +${s.retention + 1} | xargs -r rm -f --'`,
        "",
    ].join("\n");
    const timer = [
        "# written by dualstack (dualstack:cluster.etcdSnapshots)",
        "[Unit]",
        `Description=k0s backup schedule (cron ${s.schedule})`,
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

const UNIT_DIR = "/etc/systemd/system";

/** Installs and starts the backup timer on a controller. Existing archives are never touched. */
export function k0sBackupCreateLines(s: EtcdSnapshots, k0sBinary: string): string[] {
    const { service, timer } = k0sBackupUnits(s, k0sBinary);
    return [
        `mkdir -p ${q(K0S_BACKUP_DIR)}`,
        `chmod 0700 ${q(K0S_BACKUP_DIR)}`,
        `printf '%s' ${q(service)} > ${q(`${UNIT_DIR}/${K0S_BACKUP_UNIT}.service`)}`,
        `printf '%s' ${q(timer)} > ${q(`${UNIT_DIR}/${K0S_BACKUP_UNIT}.timer`)}`,
        "systemctl daemon-reload",
        `systemctl enable --now ${q(`${K0S_BACKUP_UNIT}.timer`)}`,
        // enable --now does not pick up a changed schedule of an active timer.
        `systemctl restart ${q(`${K0S_BACKUP_UNIT}.timer`)}`,
    ];
}

/** Stops and removes the timer; the backups stay (they are what a restore needs), the directory only if empty. */
export function k0sBackupDeleteLines(): string[] {
    return [
        `systemctl disable --now ${q(`${K0S_BACKUP_UNIT}.timer`)} 2>/dev/null || true`,
        `rm -f ${q(`${UNIT_DIR}/${K0S_BACKUP_UNIT}.service`)} ${q(`${UNIT_DIR}/${K0S_BACKUP_UNIT}.timer`)}`,
        "systemctl daemon-reload 2>/dev/null || true",
        `rmdir ${q(K0S_BACKUP_DIR)} 2>/dev/null || echo ${q(`dualstack: keeping the backups in ${K0S_BACKUP_DIR}`)}`,
    ];
}
