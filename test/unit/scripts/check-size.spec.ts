// Size limits (issue 14): no function in components/ or index.ts over 100 lines, no file over 500,
// generated files aside. Also proves the checker sees the function kinds the components use.
import * as assert from "node:assert/strict";
import { longFunctions, MAX_FUNCTION_LINES, oversized } from "../../../scripts/check-size";
import { ROOT } from "../../support/program";

const body = (n: number) => Array.from({ length: n }, (_, i) => `    x += ${i};`).join("\n");

describe("scripts/check-size", () => {
    it("components/ and index.ts are within the limits", () => {
        assert.deepEqual(oversized(ROOT), []);
    });

    it("finds long declarations, arrow functions, methods and constructors, and only those", () => {
        const long = MAX_FUNCTION_LINES - 1; // plus the two lines of braces: one over the limit
        const text = [
            `function decl() {\n    let x = 0;\n${body(long)}\n}`,
            `const arrow = () => {\n    let x = 0;\n${body(long)}\n};`,
            `class C {\n    constructor() {\n        let x = 0;\n${body(long)}\n    }\n    m() {\n        let x = 0;\n${body(long)}\n    }\n}`,
            `function short() {\n    let x = 0;\n${body(long - 2)}\n}`,
        ].join("\n");
        assert.deepEqual(
            longFunctions("t.ts", text).map((o) => o.what),
            ["function decl", "function arrow", "function constructor of C", "function m"],
        );
    });
});
