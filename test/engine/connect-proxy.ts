// An HTTP CONNECT proxy on 127.0.0.1 that tunnels into the lab network through the lab's forwarder
// socket (test/lab/harness.ts forwarderExec). The lab's hosts live in network namespaces the test
// process's namespace has no route into (harness.ts: the bridge sits in its own namespace), so
// the real kubernetes provider plugin, started by the CLI in this namespace, reaches the lab's
// API server through this proxy: client-go's transport honours HTTPS_PROXY
// (k8s.io/client-go/transport/cache.go: `proxy := http.ProxyFromEnvironment` unless the rest config
// names its own, wrapped in utilnet.NewProxierWithNoProxyCIDR),
// and so do the Helm actions the provider runs with the same rest config. The program and
// its kubeconfig stay exactly as a user has them.
import * as http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { forwarderExec } from "../lab/harness";

export interface ConnectProxy {
    /** http://127.0.0.1:PORT, for HTTPS_PROXY. */
    url: string;
    /** host:port pairs tunnelled so far (the test asserts the provider really came through). */
    tunnels: string[];
    close(): Promise<void>;
}

/** Starts the proxy; only CONNECT is served (the provider speaks TLS to the API server). */
export async function startConnectProxy(forwarder: string): Promise<ConnectProxy> {
    const { dial } = forwarderExec(forwarder);
    const tunnels: string[] = [];
    const open = new Set<Socket>();
    const server = http.createServer((_req, res) => {
        res.writeHead(405, { "content-type": "text/plain" });
        res.end("only CONNECT is served by the lab proxy\n");
    });
    server.on("connect", (req: http.IncomingMessage, client: Socket, head: Buffer) => {
        open.add(client);
        client.on("close", () => open.delete(client));
        client.on("error", () => client.destroy());
        // host:port, an IPv6 literal in brackets.
        const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(req.url ?? "");
        if (!m) {
            client.end("HTTP/1.1 400 Bad Request\r\n\r\n");
            return;
        }
        dial(m[1], Number(m[2])).then(
            (upstream) => {
                tunnels.push(`${m[1]}:${m[2]}`);
                upstream.on("error", () => client.destroy());
                upstream.on("close", () => client.destroy());
                client.on("close", () => upstream.destroy());
                client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
                if (head.length) upstream.write(head);
                client.pipe(upstream);
                upstream.pipe(client);
            },
            () => client.end("HTTP/1.1 502 Bad Gateway\r\n\r\n"),
        );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    return {
        url: `http://127.0.0.1:${port}`,
        tunnels,
        close: () =>
            new Promise<void>((resolve) => {
                for (const s of open) s.destroy();
                server.close(() => resolve());
                server.closeAllConnections();
            }),
    };
}
