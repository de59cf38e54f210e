// The one place where values become shell text. Every value that reaches a remote script goes
// through `q` (shell-quote); scripts are composed from lines and run as `sh -c <script>` so the
// login shell of the SSH user does not matter.
import { quote } from "shell-quote";
import { byCodePoint } from "./order";

/**
 * Words POSIX sh reads literally as they stand. shell-quote escapes `:`, `,` and `@` too, which
 * made every IPv6 address in a script read `fd45\:a71\:\:1`; such words stay bare instead.
 */
const LITERAL = /^[A-Za-z0-9_%+:,./@-]+$/;

/** Quotes one value for POSIX sh (shell-quote for anything beyond plain literal words). */
export function q(value: string | number): string {
    const text = String(value);
    return LITERAL.test(text) ? text : quote([text]);
}

/** Quotes each value and joins them with spaces, e.g. for an argument list. */
export function qa(values: (string | number)[]): string {
    return values.map(q).join(" ");
}

/**
 * A script: `set -eu` first, then the given lines. sudo's secure_path on RHEL-family hosts lacks
 * /usr/local/bin, where k3s, k0s and their uninstall scripts live, so it is appended here once.
 */
export function script(...lines: (string | string[])[]): string {
    return ["set -eu", 'PATH="$PATH:/usr/local/bin:/opt/bin"; export PATH', ...lines.flat()].join("\n") + "\n";
}

/** `NAME=value` assignments, quoted, for a command prefix or an env file. */
export function assignments(vars: Record<string, string>): string[] {
    return Object.entries(vars)
        .sort(([a], [b]) => byCodePoint(a, b))
        .map(([k, v]) => {
            if (!/^[A-Z_][A-Z0-9_]*$/.test(k)) throw new Error(`invalid variable name ${k}`);
            return `${k}=${q(v)}`;
        });
}

/**
 * The command string a remote.Command runs: the script through `sh -c`, and through `sudo -n`
 * for non-root users, failing with a clear message when sudo wants a password.
 */
export function remoteCommand(body: string, sudo: boolean): string {
    if (!sudo) return `sh -c ${q(body)}`;
    return [
        `if ! sudo -n true 2>/dev/null; then echo "dualstack: user $(id -un) cannot run sudo without a password on $(hostname) (sudo -n true failed; nothing was changed); allow NOPASSWD sudo for it or connect as root" >&2; exit 1; fi`,
        `sudo -n sh -c ${q(body)}`,
    ].join("\n");
}
