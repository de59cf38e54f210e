// SKELETON: pure renderers of this component's artifacts (filled in by its issue).
import type { Artifact } from "../artifacts";
import type { Plan } from "../plan";

export function artifacts(_plan: Plan): Artifact[] {
    return [];
}
