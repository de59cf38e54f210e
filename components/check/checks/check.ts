// One dual-stack check: its id (in the report), its title, and its judge, which reads the evidence
// in the context and records what it saw, failed or skipped on the entry.
import type { Plan } from "../../plan";
import type { Context } from "../evidence";
import type { CheckEntry, CheckId, Entry } from "../report";

export interface Check {
    id: CheckId;
    title: string;
    /** Only for plans it applies to (absent: every plan). */
    appliesTo?(plan: Plan): boolean;
    /** Records on `e`; a check that builds its report entry itself (bgp) returns it instead. */
    judge(ctx: Context, e: Entry): void | CheckEntry;
}
