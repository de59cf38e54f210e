import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as command from "@pulumi/command";

// The registry's `latest` tag of @pulumi/command has pointed at 4.5.0, an old API without
// `logging`, `hostKey`, `proxy` or `addPreviousOutputInEnv`. The program relies on all four.
describe("installed @pulumi/command SDK", () => {
    it("is a 1.x release at or above 1.2.1", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(require.resolve("@pulumi/command/package.json")), "utf8"));
        const [major, minor, patch] = String(pkg.version).split(".").map(Number);
        assert.equal(major, 1, `@pulumi/command ${pkg.version}`);
        assert.ok(minor > 2 || (minor === 2 && patch >= 1), `@pulumi/command ${pkg.version} is older than 1.2.1`);
    });

    it("registers logging and addPreviousOutputInEnv as Command inputs", () => {
        const src = fs.readFileSync(require.resolve("@pulumi/command/remote/command.js"), "utf8");
        assert.match(src, /resourceInputs\["logging"\] = args\?\.logging/);
        assert.match(src, /resourceInputs\["addPreviousOutputInEnv"\] = args\?\.addPreviousOutputInEnv/);
    });

    it("types hostKey and proxy on the connection (checked by the strict type check)", () => {
        const conn: command.types.input.remote.ConnectionArgs = {
            host: "fd45::1",
            hostKey: "ssh-ed25519 AAAA",
            proxy: { host: "jump", hostKey: "ssh-ed25519 BBBB" },
        };
        const args: command.remote.CommandArgs = { connection: conn, create: "true", logging: "none", addPreviousOutputInEnv: false };
        assert.equal(args.logging, "none");
        const defaults = command.types.input.remote.connectionArgsProvideDefaults(conn);
        assert.equal(defaults.port, 22);
    });
});
