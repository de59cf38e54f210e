// SSH connection arguments for @pulumi/command. Fields are copied one by one: spreading an
// arbitrary object into `connection` makes the CLI print the raw map, key included
// (pulumi/pulumi-command#773).
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { Plan, PlannedNode } from "./plan";

export interface SshSecrets {
    privateKey?: pulumi.Output<string>;
    proxyPrivateKey?: pulumi.Output<string>;
}

export type Connection = command.types.input.remote.ConnectionArgs;

export function connectionFor(plan: Plan, node: PlannedNode, secrets: SshSecrets): Connection {
    const ssh = plan.ssh;
    const conn: Connection = {
        host: node.host,
        port: ssh.port,
        user: ssh.user,
        dialErrorLimit: ssh.dialErrorLimit,
        perDialTimeout: ssh.perDialTimeout,
    };
    if (secrets.privateKey) conn.privateKey = secrets.privateKey;
    if (ssh.agentSocketPath) conn.agentSocketPath = ssh.agentSocketPath;
    if (node.hostKey) conn.hostKey = node.hostKey;
    const pr = ssh.proxy;
    if (pr) {
        const proxy: command.types.input.remote.ProxyConnectionArgs = { host: pr.host, port: pr.port, user: pr.user };
        if (secrets.proxyPrivateKey) proxy.privateKey = secrets.proxyPrivateKey;
        else if (secrets.privateKey && !pr.agentSocketPath) proxy.privateKey = secrets.privateKey;
        if (pr.agentSocketPath) proxy.agentSocketPath = pr.agentSocketPath;
        if (pr.hostKey) proxy.hostKey = pr.hostKey;
        if (pr.dialErrorLimit !== undefined) proxy.dialErrorLimit = pr.dialErrorLimit;
        if (pr.perDialTimeout !== undefined) proxy.perDialTimeout = pr.perDialTimeout;
        conn.proxy = proxy;
    }
    return conn;
}
