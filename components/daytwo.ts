// The day-two rules (registries, registration address, pinned installers, upgrade batches, etcd
// snapshots) composed for the plan: one call, every finding reported with the others. Pure.
import { workerUpgradeBatchFindings } from "./batches";
import type { StackConfig } from "./config";
import { findings, type Findings } from "./findings";
import { installSha256Findings } from "./installers";
import type { Family } from "./net";
import { registrationFindings } from "./registration";
import { registriesFindings } from "./registries";
import { etcdSnapshotFindings } from "./snapshots";

export interface DayTwoContext {
    /** Kubernetes minor version, when the version tag parsed. */
    minor?: number;
    primaryFamily: Family;
    /** The pod and service CIDRs that parsed. */
    clusterCidrs: string[];
}

/**
 * kubeadm has none of these steps yet: refuse the keys rather than ignore them (a mirror or snapshot
 * the user asked for and silently did not get is worse than an error).
 */
function kubeadmUnsupported(cfg: StackConfig): Findings {
    const f = findings();
    const set: [string, unknown][] = [
        ["cluster.registrationAddress", cfg.cluster.registrationAddress],
        ["install.sha256", cfg.install.sha256],
        ["cluster.etcdSnapshots", cfg.cluster.etcdSnapshots],
        // kubeadm workers have no drain/upgrade/uncordon steps yet (batches.ts workerUpgradeSteps):
        // a batch size would be accepted and do nothing.
        ["cluster.workerUpgradeBatch", cfg.cluster.workerUpgradeBatch],
        // Its credentials must never reach a problem report.
        ["registries", cfg.registries === undefined ? undefined : "(set)"],
    ];
    for (const [key, value] of set) {
        if (value !== undefined) f.error(`dualstack:${key}`, value, "is not supported with distribution kubeadm yet", `remove dualstack:${key}, or use k3s or k0s`);
    }
    return f;
}

export function dayTwoFindings(cfg: StackConfig, c: DayTwoContext): Findings[] {
    const controlPlanes = cfg.nodes.filter((n) => n.role === "control-plane").length;
    if (cfg.distribution === "kubeadm") return [kubeadmUnsupported(cfg), workerUpgradeBatchFindings(cfg.cluster.workerUpgradeBatch, cfg.nodes.length - controlPlanes)];
    const out: Findings[] = [
        registrationFindings(cfg.cluster.registrationAddress, { distribution: cfg.distribution, primaryFamily: c.primaryFamily, clusterCidrs: c.clusterCidrs }),
        installSha256Findings(cfg.distribution, cfg.version, cfg.install.source, cfg.install.sha256 ?? {}),
        workerUpgradeBatchFindings(cfg.cluster.workerUpgradeBatch, cfg.nodes.length - controlPlanes),
        etcdSnapshotFindings(cfg.cluster.etcdSnapshots, { distribution: cfg.distribution, controlPlanes }),
    ];
    if (cfg.registries && c.minor !== undefined) out.push(registriesFindings(cfg.registries, { distribution: cfg.distribution, minor: c.minor }));
    return out;
}
