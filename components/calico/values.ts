// The tigera-operator Helm release: pure functions of the plan, used by the Calico component and
// by render.ts (cluster/calico/operator-values.yaml).
//
// How the CRDs get into the cluster (the issue asked for a helm.v3.Release of the
// `crd.projectcalico.org.v1` chart for Calico >= v3.32; this is why there is none):
// - Helm itself creates chart objects with plain API create/patch calls and never writes kubectl's
//   `last-applied-configuration` annotation, so the 256 KiB client-side-apply limit does not apply
//   to a helm.v3.Release (which runs Helm's install action inside the Pulumi provider).
// - But Helm records every release in a Secret holding the gzipped chart templates plus the
//   rendered manifest, and a Secret is capped at 1 MiB. The CRD chart keeps its CRDs in
//   templates/ (projectcalico/calico charts/crd.projectcalico.org.v1), so each CRD is stored
//   twice; Tigera moved its own docs from `helm install` to `helm template | kubectl apply
//   --server-side` because "the CRD Helm charts have grown large enough to exceed the 1MB
//   Kubernetes Secret size limit that Helm uses for release tracking" (tigera/docs PR #2636; the
//   v3.32 helm.mdx install step). The Installation CRD alone is 1.5 MB of YAML and takes ~470 KB of
//   that record. A CRD Release would fail on create with `Secret "sh.helm.release.v1..." is invalid:
//   data: Too long`; the provider's other storage drivers do not help (configmap: same cap;
//   memory: forgets the release; sql: needs an external database).
// - So the operator installs them: the chart's `manageCRDs: true` starts the operator with
//   `-manage-crds=true`, and before starting its controllers the operator creates or updates the
//   crd.projectcalico.org and operator.tigera.io CRDs of exactly its own version through the API
//   (tigera/operator cmd/main.go: `if bootstrapCRDs || manageCRDs { crds.Ensure(...) }`) — the same
//   path Tigera's tigera-operator.yaml manifest uses (projectcalico/calico PR #9518). Below v3.32
//   the chart also carries the CRDs in crds/, which Helm creates on first install only; the
//   operator keeps them current on upgrades.
// - The Installation is therefore not part of the chart (a chart-rendered Installation needs its
//   CRD before `helm install` renders it): it is a separate CustomResource created after this
//   release is ready (components/calico/installation.ts).
import { stringify } from "yaml";
import type { Plan } from "../plan";
import { releaseArgs, type ReleaseArgs } from "../helm";

export const CHART_REPO = "https://docs.tigera.io/calico/charts";
export const OPERATOR_CHART = "tigera-operator";
export const OPERATOR_NAMESPACE = "tigera-operator";
/** Fixed so the release name, and with it the stored release Secret, is deterministic. */
export const RELEASE_NAME = "calico";
/** The first Calico minor whose tigera-operator chart no longer bundles the CRDs. */
export const CRD_CHART_SPLIT_MINOR = 32;

export function calicoMinor(plan: Plan): number {
    const m = /^v3\.(\d+)\.\d+$/.exec(plan.calico.version);
    if (!m) throw new Error(`calico.version ${plan.calico.version} passed validation but is not v3.MINOR.PATCH`);
    return Number(m[1]);
}

/** Who puts the Calico CRDs into the cluster, for the plan output and README. */
export function crdsInstalledBy(plan: Plan): string {
    return calicoMinor(plan) >= CRD_CHART_SPLIT_MINOR
        ? "the tigera-operator itself (-manage-crds=true); the chart has no CRDs since v3.32"
        : "Helm from the chart's crds/ on first install, kept current by the tigera-operator (-manage-crds=true)";
}

export interface OperatorValues {
    apiServer: { enabled: false };
    defaultFelixConfiguration: { enabled: false };
    goldmane: { enabled: false };
    installation: { enabled: false };
    manageCRDs: true;
    whisker: { enabled: false };
}

/**
 * Chart values. Every custom resource the chart could template is off: the Installation is our
 * own CustomResource, and the footprint stays at the operator plus what the Installation needs.
 * - apiServer: the aggregated projectcalico.org/v3 API. Pools, pod networking and Kubernetes
 *   NetworkPolicy work without it (the operator and calico-node use crd.projectcalico.org/v1).
 * - goldmane, whisker: flow-log aggregation and its web UI (chart default on since v3.30).
 * Values unknown to an older chart are ignored by its templates.
 */
export function operatorValues(_plan: Plan): OperatorValues {
    return {
        apiServer: { enabled: false },
        defaultFelixConfiguration: { enabled: false },
        goldmane: { enabled: false },
        installation: { enabled: false },
        manageCRDs: true,
        whisker: { enabled: false },
    };
}

export function operatorValuesYaml(plan: Plan): string {
    return stringify(operatorValues(plan), { sortMapEntries: true });
}

export type OperatorReleaseArgs = ReleaseArgs<OperatorValues>;

export function operatorReleaseArgs(plan: Plan): OperatorReleaseArgs {
    // Calico's charts are versioned like Calico itself (v3.32.1), so this pins the operator image.
    return releaseArgs({ release: RELEASE_NAME, chart: OPERATOR_CHART, repo: CHART_REPO, namespace: OPERATOR_NAMESPACE }, plan.calico.version, operatorValues(plan), plan.charts);
}
