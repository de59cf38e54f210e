// One dual-stack check: its id (in the report), its title, and its judge, which reads the evidence
// in the context and records what it saw, failed or skipped on the entry.
import type { Context } from "../evidence";
import type { CheckId, Entry } from "../report";

export interface Check {
    id: CheckId;
    title: string;
    judge(ctx: Context, e: Entry): void;
}
