import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** What the proxy knows about a request on its way to moto. */
export interface ProxiedCall {
  /** SigV4 service name: ec2, logs, iam, events, sts, sqs. */
  service: string;
  /** API operation: CreateFlowLogs, CreateLogGroup, ... */
  operation: string;
  region: string;
  /** The request body (query-protocol parameters, or JSON). */
  body: string;
  /** The signing access key: one per account's credentials (per-account buckets key on it). */
  accessKeyId: string;
  /** When the client sent the call (its SENT_AT_HEADER, epoch ms), if it says. */
  sentAt?: number;
}

/**
 * What to do with a call: let it through (optionally late), answer it with an error, drop the
 * connection before the request reaches the service, or forward it (the service applies it) and
 * drop the connection instead of answering: a lost response.
 */
export type Fault =
  | { kind: "pass"; delayMs?: number }
  | { kind: "respond"; status: number; body: string; contentType: string }
  | { kind: "reset" }
  | { kind: "lose-response" }
  /** Forward the call and hand the service's answer back changed (a shape the emulator cannot make). */
  | { kind: "rewrite"; transform: (body: string) => string };

export type FaultRule = (call: ProxiedCall) => Fault | undefined;

export interface FaultProxy {
  endpoint: string;
  /**
   * Calls seen, with the fault applied to each, when each arrived (epoch ms) and, for calls forwarded
   * to the service, how long its answer took to start from arrival (absent: not answered yet).
   */
  log: { call: ProxiedCall; fault: Fault["kind"]; at: number; answeredMs?: number }[];
  close(): Promise<void>;
}

function operationOf(headers: IncomingMessage["headers"], body: string): string {
  const target = headers["x-amz-target"];
  if (typeof target === "string") return target.split(".").pop() ?? "";
  return new URLSearchParams(body).get("Action") ?? "";
}

/** The header in which a test's client says when it sent a call (see test/support/chaos.ts). */
export const SENT_AT_HEADER = "x-chaos-sent-at";

function sentAtOf(headers: IncomingMessage["headers"]): { sentAt?: number } {
  const sentAt = Number(headers[SENT_AT_HEADER]);
  return Number.isFinite(sentAt) && sentAt > 0 ? { sentAt } : {};
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
        body: body.toString("utf8"),
        accessKeyId: /Credential=([^/]+)\//.exec(incoming.headers.authorization ?? "")?.[1] ?? "",
        ...sentAtOf(incoming.headers),
      };
      const fault = rules.map((rule) => rule(call)).find((result) => result !== undefined) ?? {
        kind: "pass",
      };
      const entry: FaultProxy["log"][number] = { call, fault: fault.kind, at: Date.now() };
      log.push(entry);
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
            // The service has done its work once its answer starts (moto answers when it is done).
            entry.answeredMs = Date.now() - entry.at;
            if (fault.kind === "lose-response") {
              // The service has applied the call; its answer never reaches the caller.
              response.resume();
              response.on("end", () => incoming.socket.destroy());
              return;
            }
            if (fault.kind === "rewrite") {
              rewriteResponse(response, outgoing, fault.transform);
              return;
            }
            outgoing.writeHead(response.statusCode ?? 502, response.headers);
            response.pipe(outgoing);
          },
        );
        proxied.on("error", () => outgoing.destroy());
        proxied.end(body);
      };
      if (fault.kind === "pass" && fault.delayMs) setTimeout(forward, fault.delayMs);
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

/** Reads the service's whole answer, changes its body with `transform`, and sends that on. */
function rewriteResponse(
  response: IncomingMessage,
  outgoing: ServerResponse,
  transform: (body: string) => string,
): void {
  const chunks: Buffer[] = [];
  response.on("data", (chunk: Buffer) => chunks.push(chunk));
  response.on("end", () => {
    const body = Buffer.from(transform(Buffer.concat(chunks).toString("utf8")), "utf8");
    outgoing.writeHead(response.statusCode ?? 502, { ...response.headers, "content-length": body.length });
    outgoing.end(body);
  });
}

/**
 * DescribeVpcs as a participant of AWS RAM sharing sees it: the VPC `vpcId` carries the owner's
 * `ownerId` (moto has no VPC sharing). Only that VPC's own top-level `<item>` in `vpcSet` changes.
 */
export function shareVpcInDescribeVpcs(vpcId: string, ownerId: string): FaultRule {
  const transform = (xml: string) => {
    const items = /<(\/?)item>/g;
    items.lastIndex = Math.max(0, xml.indexOf("<vpcSet>"));
    let depth = 0;
    let start = 0;
    for (let tag = items.exec(xml); tag; tag = items.exec(xml)) {
      if (!tag[1] && depth++ === 0) start = tag.index;
      if (!tag[1] || --depth > 0) continue;
      const item = xml.slice(start, items.lastIndex);
      if (!item.includes(`<vpcId>${vpcId}</vpcId>`)) continue;
      const shared = item.replace(/<ownerId>[^<]*<\/ownerId>/, `<ownerId>${ownerId}</ownerId>`);
      return xml.slice(0, start) + shared + xml.slice(items.lastIndex);
    }
    return xml;
  };
  return (call) => (call.operation === "DescribeVpcs" ? { kind: "rewrite", transform } : undefined);
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

const JSON_SERVICES = new Set(["logs", "events"]);
const XML_ERROR_RESPONSE_SERVICES = new Set(["iam", "sts"]);

/** An error in the wire format the service uses: EC2 `<Response><Errors>`, IAM/STS `<ErrorResponse>`, JSON `__type`. */
export function serviceError(service: string, status: number, code: string, message: string): Fault {
  if (JSON_SERVICES.has(service)) {
    return {
      kind: "respond",
      status,
      contentType: "application/x-amz-json-1.1",
      body: JSON.stringify({ __type: code, message }),
    };
  }
  if (XML_ERROR_RESPONSE_SERVICES.has(service)) {
    return {
      kind: "respond",
      status,
      contentType: "text/xml",
      body: `<ErrorResponse><Error><Type>${status >= 500 ? "Receiver" : "Sender"}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>00000000-0000-4000-8000-000000000000</RequestId></ErrorResponse>`,
    };
  }
  return ec2Error(status, code, message);
}

/** Throttling exactly as each service sends it: EC2 RequestLimitExceeded (503), Logs/EventBridge ThrottlingException, IAM/STS Throttling. */
export function throttling(service: string): Fault {
  if (service === "ec2") return serviceError(service, 503, "RequestLimitExceeded", "Request limit exceeded.");
  if (JSON_SERVICES.has(service)) return serviceError(service, 400, "ThrottlingException", "Rate exceeded");
  return serviceError(service, 400, "Throttling", "Rate exceeded");
}

export function internalError(service: string): Fault {
  return JSON_SERVICES.has(service)
    ? serviceError(service, 500, "InternalFailure", "An internal error occurred.")
    : serviceError(service, 500, "InternalError", "An internal error has occurred.");
}

/** A small seeded PRNG (mulberry32), so a fault run can be repeated exactly. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Services flowlog-guard itself calls; test helpers' SQS and S3 calls are never faulted. */
const GUARDED_SERVICES = new Set(["ec2", "logs", "iam", "events", "sts"]);

/** Calls that change something: a lost response to one of these is a change the caller did not hear of. */
const WRITE_OPERATION = /^(Create|Put|Update|Tag|Attach|Associate)/;

/**
 * Random faults, driven by a seed: throttling (as the service sends it), HTTP 500s, connections
 * dropped before the request reaches the service, responses lost after a write was applied, and
 * added latency.
 */
export function randomFaults(options: {
  seed: number;
  throttle?: number;
  serverError?: number;
  reset?: number;
  /** Share of write calls forwarded and applied whose response is then dropped. */
  lostResponse?: number;
  maxLatencyMs?: number;
}): FaultRule {
  const random = seededRandom(options.seed);
  return (call) => {
    if (!GUARDED_SERVICES.has(call.service)) return undefined;
    const roll = random();
    let edge = options.throttle ?? 0;
    if (roll < edge) return throttling(call.service);
    edge += options.serverError ?? 0;
    if (roll < edge) return internalError(call.service);
    edge += options.reset ?? 0;
    if (roll < edge) return { kind: "reset" };
    edge += options.lostResponse ?? 0;
    if (roll < edge && WRITE_OPERATION.test(call.operation)) return { kind: "lose-response" };
    return options.maxLatencyMs
      ? { kind: "pass", delayMs: Math.floor(random() * options.maxLatencyMs) }
      : undefined;
  };
}

/** CreateFlowLogs is refused ("Unable to assume given IAM role") for `windowMs` after a CreateRole passes. */
export function iamPropagation(windowMs: number): FaultRule {
  let roleCreatedAt: number | undefined;
  return (call) => {
    if (call.operation === "CreateRole") {
      roleCreatedAt = Date.now();
      return undefined;
    }
    if (
      call.operation === "CreateFlowLogs" &&
      roleCreatedAt !== undefined &&
      Date.now() - roleCreatedAt < windowMs
    ) {
      return ec2Error(
        400,
        "InvalidParameter",
        "Unable to assume given IAM role: 'arn:aws:iam::123456789012:role/flowlog-guard/flowlog-guard-delivery'",
      );
    }
    return undefined;
  };
}

/** AWS's request buckets: `burst` at once, then `perSecond`, per API. */
export const AWS_BUCKETS: Record<string, { burst: number; perSecond: number }> = {
  "ec2:CreateFlowLogs": { burst: 50, perSecond: 5 },
  "ec2:DescribeVpcs": { burst: 100, perSecond: 20 },
  "ec2:DescribeFlowLogs": { burst: 100, perSecond: 20 },
  "ec2:DescribeInternetGateways": { burst: 100, perSecond: 20 },
  "logs:CreateLogGroup": { burst: 5, perSecond: 5 },
  "logs:PutRetentionPolicy": { burst: 5, perSecond: 5 },
  "logs:DescribeLogGroups": { burst: 5, perSecond: 5 },
};

/** Token buckets per API, answering throttling when one is empty, as AWS does. Counts what it refused. */
export function tokenBuckets(
  buckets: Record<string, { burst: number; perSecond: number }> = AWS_BUCKETS,
  options: { perAccount?: boolean } = {},
) {
  const state = new Map<string, { tokens: number; at: number }>();
  const refused = new Map<string, number>();
  const rule: FaultRule = (call) => {
    const api = `${call.service}:${call.operation}`;
    const bucket = buckets[api];
    // AWS keeps a bucket per account and region: with perAccount, one per signing key and region.
    const key = options.perAccount ? `${call.accessKeyId}|${call.region}|${api}` : `${call.region}|${api}`;
    if (!bucket) return undefined;
    // The call's time is when the client sent it, where it says (calls can reach this shared event
    // loop late and bunched); one that arrives after a later one is counted at the later one's time.
    const sent = call.sentAt ?? Date.now();
    const current = state.get(key) ?? { tokens: bucket.burst, at: sent };
    const now = Math.max(current.at, sent);
    current.tokens = Math.min(bucket.burst, current.tokens + ((now - current.at) / 1000) * bucket.perSecond);
    current.at = now;
    state.set(key, current);
    if (current.tokens >= 1) {
      current.tokens -= 1;
      return undefined;
    }
    refused.set(api, (refused.get(api) ?? 0) + 1);
    return throttling(call.service);
  };
  return { rule, refused };
}

/**
 * The most calls of `operation` the service held at once, from their arrival at the proxy until the
 * service's answer started (a call forwarded and not answered yet counts as still held). Calls the
 * proxy answered itself (faults) never reached the service.
 */
export function mostInFlight(log: FaultProxy["log"], operation: string): number {
  const edges = log
    .filter(
      (entry) => entry.call.operation === operation && entry.fault !== "respond" && entry.fault !== "reset",
    )
    .flatMap((entry) => [
      { at: entry.at, step: 1 },
      { at: entry.at + (entry.answeredMs ?? Number.POSITIVE_INFINITY), step: -1 },
    ])
    .sort((a, b) => a.at - b.at || a.step - b.step);
  let current = 0;
  let most = 0;
  for (const edge of edges) {
    current += edge.step;
    most = Math.max(most, current);
  }
  return most;
}
