// The day-two rules (registries, registration address, pinned installers, upgrade batches, etcd
// snapshots) composed for the plan: one call, every finding reported with the others. What a
// distribution adds to or cannot do of them is data in its profile (distributions/<name>.ts,
// `dayTwo`). Pure.
import { workerUpgradeBatchFindings } from "./batches";
import type { StackConfig } from "./config";
import { profileOf } from "./distributions";
import type { Findings } from "./findings";
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

export function dayTwoFindings(cfg: StackConfig, c: DayTwoContext): Findings[] {
    const { name, dayTwo } = profileOf(cfg.distribution);
    const controlPlanes = cfg.nodes.filter((n) => n.role === "control-plane").length;
    const out: Findings[] = [
        registrationFindings(cfg.cluster.registrationAddress, { profile: dayTwo.registrationAddress, primaryFamily: c.primaryFamily, clusterCidrs: c.clusterCidrs }),
        installSha256Findings({ name, profile: dayTwo.installSha256 }, cfg.version, cfg.install.source, cfg.install.sha256 ?? {}),
        workerUpgradeBatchFindings(cfg.cluster.workerUpgradeBatch, cfg.nodes.length - controlPlanes),
        etcdSnapshotFindings(cfg.cluster.etcdSnapshots, { profile: dayTwo.etcdSnapshots, controlPlanes }),
    ];
    if (cfg.registries && (c.minor !== undefined || dayTwo.registries.unsupported)) out.push(registriesFindings(cfg.registries, { profile: dayTwo.registries, minor: c.minor ?? 0 }));
    return out;
}
