// Runtime sysctl values a drop-in changes, recorded before it is applied and restored on delete.
// Removing a drop-in from /etc/sysctl.d only changes the next boot: the running kernel keeps the
// values until someone writes them back (sysctl.d(5)). Shell lines for the steps' scripts, pure.
import { q } from "./shell";

export type Sysctl = [key: string, value: string];

/** The kernel's sysctl tree; tests pass a folder that stands in for it. */
export const PROC_SYS = "/proc/sys";

/**
 * The /proc/sys file of a sysctl.d key: `.` separates components and `/` stands for a `.` inside
 * one, e.g. net.ipv6.conf.eth0/100.accept_ra for a VLAN interface (sysctl.d(5)).
 */
export function procSysPath(key: string, procSys = PROC_SYS): string {
    return `${procSys}/${key.split(".").map((c) => c.replace(/\//g, ".")).join("/")}`;
}


/** A drop-in file's text: `key = value` lines (the values `sysctl -p` applies). */
export function sysctlLines(sysctls: Sysctl[]): string[] {
    return sysctls.map(([k, v]) => `${k} = ${v}`);
}

/**
 * Records the running values of the keys into `state` (one `key=value` line each) when there is
 * no record yet. A second create keeps the first record: by then the values are our own, and the
 * record must stay what the host had before dualstack. A key the kernel lacks is not recorded.
 */
export function recordSysctlsLines(state: string, sysctls: Sysctl[], procSys = PROC_SYS): string[] {
    return [
        `if [ ! -f ${q(state)} ]; then`,
        `    mkdir -p ${q(state.slice(0, state.lastIndexOf("/")))}`,
        `    rec=$(mktemp ${q(`${state}.XXXXXX`)})`,
        ...sysctls.map(([k]) => `    if [ -r ${q(procSysPath(k, procSys))} ]; then printf '%s=%s\\n' ${q(k)} "$(cat ${q(procSysPath(k, procSys))})" >> "$rec"; fi`),
        `    chmod 0600 "$rec"`,
        `    mv -f "$rec" ${q(state)}`,
        "fi",
    ];
}

/**
 * Writes each recorded value back, then removes the record. A value that is no longer the one
 * the drop-in set was changed by someone since, and stays theirs.
 */
export function restoreSysctlsLines(state: string, sysctls: Sysctl[], procSys = PROC_SYS): string[] {
    return [
        `if [ -f ${q(state)} ]; then`,
        ...sysctls.flatMap(([k, v]) => [
            `    old=$(awk -F= -v k=${q(k)} '$1 == k { print $2 }' ${q(state)})`,
            `    if [ -n "$old" ] && [ "$(cat ${q(procSysPath(k, procSys))} 2>/dev/null)" = ${q(v)} ]; then echo "$old" > ${q(procSysPath(k, procSys))}; fi`,
        ]),
        `    rm -f ${q(state)}`,
        "fi",
    ];
}
