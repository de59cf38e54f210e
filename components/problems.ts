// Every refusal names the config key, the offending value, the rule and the fix, so one
// `pulumi preview` shows everything that is wrong instead of one error per run.

export interface Problem {
    /** Full config key path, e.g. `dualstack:network.podCidrs[1]`. */
    key: string;
    /** The value as the user wrote it (JSON-encoded when not a string). */
    value: unknown;
    rule: string;
    fix: string;
}

export function formatProblem(p: Problem): string {
    const value = typeof p.value === "string" ? JSON.stringify(p.value) : p.value === undefined ? "(unset)" : JSON.stringify(p.value);
    return `${p.key} = ${value}: ${p.rule}. Fix: ${p.fix}.`;
}

export class ConfigError extends Error {
    constructor(public readonly problems: Problem[], public readonly warnings: Problem[] = []) {
        super(
            `the stack configuration has ${problems.length} problem${problems.length === 1 ? "" : "s"}; nothing was changed on any host:\n` +
                problems.map((p) => `  - ${formatProblem(p)}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

/** Collects problems under a key prefix; rules push into it and the caller throws once. */
export class Problems {
    readonly errors: Problem[] = [];
    readonly warnings: Problem[] = [];

    error(key: string, value: unknown, rule: string, fix: string): void {
        this.errors.push({ key, value, rule, fix });
    }

    warn(key: string, value: unknown, rule: string, fix: string): void {
        this.warnings.push({ key, value, rule, fix });
    }

    throwIfAny(): void {
        if (this.errors.length > 0) {
            throw new ConfigError(this.errors, this.warnings);
        }
    }
}
