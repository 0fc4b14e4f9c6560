import { createServer, type IncomingMessage, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** What the proxy knows about a request on its way to moto. */
export interface ProxiedCall {
  /** SigV4 service name: ec2, logs, iam, events, sts, sqs. */
  service: string;
  /** API operation: CreateFlowLogs, CreateLogGroup, ... */
  operation: string;
  region: string;
}

/** What to do with a call: let it through (optionally late), answer it with an error, or drop the connection. */
export type Fault =
  | { kind: "pass"; delayMs?: number }
  | { kind: "respond"; status: number; body: string; contentType: string }
  | { kind: "reset" };

export type FaultRule = (call: ProxiedCall) => Fault | undefined;

export interface FaultProxy {
  endpoint: string;
  /** Calls seen, with the fault applied to each. */
  log: { call: ProxiedCall; fault: Fault["kind"] }[];
  close(): Promise<void>;
}

function operationOf(headers: IncomingMessage["headers"], body: string): string {
  const target = headers["x-amz-target"];
  if (typeof target === "string") return target.split(".").pop() ?? "";
  return new URLSearchParams(body).get("Action") ?? "";
}

/**
 * An HTTP proxy on a free loopback port in front of moto. Each call is shown to the rules in turn; the
 * first that returns a fault decides, otherwise the call passes. Faults look as AWS sends them.
 */
export async function startFaultProxy(target: string, rules: FaultRule[]): Promise<FaultProxy> {
  const upstream = new URL(target);
  const log: FaultProxy["log"] = [];
  const server: Server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
    incoming.on("end", () => {
      const body = Buffer.concat(chunks);
      const scope = /Credential=[^/]+\/\d+\/([^/]+)\/([^/]+)\//.exec(incoming.headers.authorization ?? "");
      const call: ProxiedCall = {
        region: scope?.[1] ?? "",
        service: scope?.[2] ?? "",
        operation: operationOf(incoming.headers, body.toString("utf8")),
      };
      const fault = rules.map((rule) => rule(call)).find((result) => result !== undefined) ?? {
        kind: "pass",
      };
      log.push({ call, fault: fault.kind });
      if (fault.kind === "reset") {
        incoming.socket.destroy();
        return;
      }
      if (fault.kind === "respond") {
        outgoing.writeHead(fault.status, { "content-type": fault.contentType });
        outgoing.end(fault.body);
        return;
      }
      const forward = () => {
        const proxied = request(
          {
            host: upstream.hostname,
            port: upstream.port,
            method: incoming.method,
            path: incoming.url,
            headers: incoming.headers,
          },
          (response) => {
            outgoing.writeHead(response.statusCode ?? 502, response.headers);
            response.pipe(outgoing);
          },
        );
        proxied.on("error", () => outgoing.destroy());
        proxied.end(body);
      };
      if (fault.delayMs) setTimeout(forward, fault.delayMs);
      else forward();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An EC2 (query protocol) error as AWS sends it. */
export function ec2Error(status: number, code: string, message: string): Fault {
  return {
    kind: "respond",
    status,
    contentType: "text/xml;charset=UTF-8",
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>00000000-0000-4000-8000-000000000000</RequestID></Response>`,
  };
}

/** Fails the first `count` calls of one operation with `fault`, then lets them through. */
export function firstCalls(operation: string, count: number, fault: Fault): FaultRule {
  let seen = 0;
  return (call) => (call.operation === operation && seen++ < count ? fault : undefined);
}
