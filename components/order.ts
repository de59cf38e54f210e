// Sorting for rendered output. `localeCompare` depends on the runner's locale, so a laptop and CI
// could render different files from the same config; code-point order does not.
export function byCodePoint(a: string, b: string): number {
    return a < b ? -1 : a > b ? 1 : 0;
}
