// TEST DOUBLE of the `command` resource plugin (pulumi-resource-command), for the engine test only.
//
// Why a double: the Go module proxy here refuses every pseudo-version of
// github.com/pulumi/pulumi-command/provider (the repository tags only vX and sdk/vX, so the
// provider module is reachable only as a pseudo-version, and none is served; see README "Engine").
// The real engine (the `pulumi` CLI built from pkg/v3) drives this plugin over the ordinary
// provider gRPC protocol, so the engine's own diff/replace/deleteBeforeReplace handling, secrets in
// state, ordering, parallelism and deletes on destroy are real. What this double imitates is the
// provider's side, with the semantics of pulumi/pulumi-command provider/pkg/provider/remote
// (commandController.go, commandOutputs.go, copyController.go):
//   - preview never connects (the engine does not call Create/Update on preview: Configure does
//     not announce preview support);
//   - create runs `create`; an in-place update runs `update`, else `create`, with the new inputs;
//     delete runs `delete` with the state recorded at the last create/update;
//   - `triggers` changes replace (the schema's replaceOnChanges), any other input change updates;
//   - outputs are the inputs (secret wrappers kept, as the real provider marks `connection`
//     secret) plus stdout/stderr with one trailing newline trimmed;
//   - command output is logged per `logging` (default stdoutAndStderr) on the plugin's stderr,
//     which the engine prints; a failure's message carries the command and its output, as upstream.
// The SSH side is the lab executor's (test/lab/executor.ts), reaching the lab network through the
// lab's forwarder socket (DUALSTACK_LAB_FORWARDER).
import { randomBytes } from "node:crypto";
import * as provider from "@pulumi/pulumi/provider";
import { copyToRemote, LabLink, runRemote, unwrapSecrets } from "../lab/executor";
import { forwarderExec } from "../lab/harness";

export const COMMAND_DOUBLE_VERSION = "1.2.1";

const COMMAND = "command:remote:Command";
const COPY = "command:remote:CopyToRemote";
const COMMAND_INPUTS = ["connection", "environment", "triggers", "create", "delete", "update", "stdin", "logging", "addPreviousOutputInEnv"];
const COPY_INPUTS = ["connection", "triggers", "source", "remotePath"];

function typeOf(urn: string): string {
    return urn.split("::")[2]?.split("$").at(-1) ?? "";
}

function nameOf(urn: string): string {
    return urn.split("::").at(-1) ?? urn;
}

function link(): LabLink {
    const sock = process.env.DUALSTACK_LAB_FORWARDER;
    if (!sock) throw new Error("command TEST DOUBLE: DUALSTACK_LAB_FORWARDER is not set (the engine test sets it to the lab's forwarder socket)");
    return { ...forwarderExec(sock), hosts: [] };
}

function logOutput(name: string, inputs: Record<string, any>, out: { stdout: string; stderr: string }): void {
    const logging = unwrapSecrets(inputs.logging) ?? "stdoutAndStderr";
    const lines: string[] = [];
    if (logging === "stdout" || logging === "stdoutAndStderr") lines.push(...out.stdout.split("\n").filter(Boolean));
    if (logging === "stderr" || logging === "stdoutAndStderr") lines.push(...out.stderr.split("\n").filter(Boolean));
    for (const l of lines) process.stderr.write(`${name}: ${l}\n`);
}

async function run(urn: string, inputs: Record<string, any>, which: "create" | "update"): Promise<Record<string, any>> {
    const type = typeOf(urn);
    const name = nameOf(urn);
    if (type === COPY) {
        await copyToRemote(link(), name, inputs);
        return { ...inputs };
    }
    if (type !== COMMAND) throw new Error(`command TEST DOUBLE: unknown resource type ${type}`);
    const script = unwrapSecrets(which === "update" ? (inputs.update ?? inputs.create) : inputs.create);
    let out = { stdout: "", stderr: "" };
    if (typeof script === "string") {
        out = await runRemote(link(), name, inputs, script);
        logOutput(name, inputs, out);
    }
    return { ...inputs, ...out };
}

const double: provider.Provider = {
    version: COMMAND_DOUBLE_VERSION,
    async check(_urn, _olds, news) {
        return { inputs: news };
    },
    async diff(_id, urn, olds, news) {
        const keys = typeOf(urn) === COPY ? COPY_INPUTS : COMMAND_INPUTS;
        const changed = keys.filter((k) => JSON.stringify(olds?.[k]) !== JSON.stringify(news?.[k]));
        return { changes: changed.length > 0, replaces: changed.filter((k) => k === "triggers") };
    },
    async create(urn, inputs) {
        return { id: randomBytes(16).toString("hex"), outs: await run(urn, inputs, "create") };
    },
    async update(_id, urn, olds, news) {
        // CopyToRemote re-copies only when what it copies or where changed.
        if (typeOf(urn) === COPY && JSON.stringify(olds.source) === JSON.stringify(news.source) && olds.remotePath === news.remotePath) {
            return { outs: { ...news } };
        }
        return { outs: await run(urn, news, "update") };
    },
    async delete(_id, urn, props) {
        // CopyToRemote has no delete upstream: copied files stay on the host.
        if (typeOf(urn) !== COMMAND) return;
        const del = unwrapSecrets(props.delete);
        if (typeof del !== "string") return;
        const out = await runRemote(link(), nameOf(urn), props, del);
        logOutput(nameOf(urn), props, out);
    },
};

if (require.main === module) {
    provider.main(double, process.argv.slice(2)).catch((e) => {
        process.stderr.write(`command TEST DOUBLE: ${(e as Error).stack ?? e}\n`);
        process.exit(1);
    });
}
