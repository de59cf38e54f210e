// A lab host's state as destroy must restore it, shared by the engine specs.
import * as assert from "node:assert/strict";
import type { LabHost } from "../lab/harness";

/** Everything the program, k3s/k0s or their doubles may touch on a host; destroy must restore it. */
export const WATCHED = ["/etc/rancher", "/etc/dualstack", "/etc/k0s", "/etc/systemd/system", "/etc/sysctl.d", "/etc/netplan", "/etc/network", "/etc/cni", "/var/lib/rancher", "/var/lib/k0s", "/var/lib/dualstack", "/var/lib/calico", "/opt/cni"];
const BIN = "/usr/local/bin";
const SYSTEMCTL_STATE = ["/run/systemctl-double/enabled", "/run/systemctl-double/active"];

export async function must(h: LabHost, command: string): Promise<string> {
    const r = await h.inspect(command);
    assert.equal(r.code, 0, `${h.name}: ${command}: ${r.stderr}`);
    return r.stdout;
}

/**
 * Files and links (files with content hashes), global addresses and unit flags: a host's state as
 * destroy must restore it. Empty directories are not compared (k0s leaves /etc/cni and /opt/cni
 * behind, see README "Engine"). Runtime sysctl values are not compared: destroy removes HostPrep's sysctl file but leaves the
 * running values (forwarding stays 1 until reboot), as the lab specs also accept.
 */
export async function hostState(h: LabHost): Promise<string> {
    return must(
        h,
        `{ for d in ${WATCHED.join(" ")}; do [ -e "$d" ] && find "$d" ! -type d -printf '%p %y %m\\n' -type f -exec sha256sum {} \\; ; done; ` +
            `for d in ${SYSTEMCTL_STATE.join(" ")}; do [ -e "$d" ] && find "$d" -mindepth 1 -printf '%p %y\\n'; done; ` +
            `find ${BIN} -mindepth 1 -printf '%p %y %m %s\\n'; ip -o addr show scope global | awk '{print $2, $3, $4}'; ` +
            `} | sort; true`,
    );
}

