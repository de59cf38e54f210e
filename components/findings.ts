// What a rule module returns: refusals (errors) and warnings, each naming key, value, rule and fix.
// The plan copies them into its one problem list, so every problem is still reported at once.
import type { Problem, Problems } from "./problems";

export interface Findings {
    errors: Problem[];
    warnings: Problem[];
}

export function findings(): Findings & { error: (key: string, value: unknown, rule: string, fix: string) => void; warn: (key: string, value: unknown, rule: string, fix: string) => void } {
    const errors: Problem[] = [];
    const warnings: Problem[] = [];
    return {
        errors,
        warnings,
        error: (key, value, rule, fix) => errors.push({ key, value, rule, fix }),
        warn: (key, value, rule, fix) => warnings.push({ key, value, rule, fix }),
    };
}

/** Adds a rule module's findings to the plan's problem list. */
export function report(p: Problems, f: Findings): void {
    for (const e of f.errors) p.error(e.key, e.value, e.rule, e.fix);
    for (const w of f.warnings) p.warn(w.key, w.value, w.rule, w.fix);
}
