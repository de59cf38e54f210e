// The distribution profiles by name. Pure data: the plan rules, the components and the check look
// their distribution up here.
import type { Plan } from "../plan/types";
import { k0s } from "./k0s";
import { k3s } from "./k3s";
import type { DistributionName, DistributionProfile } from "./profile";

export type { DistributionName, DistributionProfile } from "./profile";

export const PROFILES: Record<DistributionName, DistributionProfile> = { k3s, k0s };

export function profileOf(planOrName: Pick<Plan, "distribution"> | DistributionName): DistributionProfile {
    return PROFILES[typeof planOrName === "string" ? planOrName : planOrName.distribution];
}
