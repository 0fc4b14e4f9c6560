import { Readable } from "node:stream";
import { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { EC2Client } from "@aws-sdk/client-ec2";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { IAMClient } from "@aws-sdk/client-iam";
import { KMSClient } from "@aws-sdk/client-kms";
import { S3Client } from "@aws-sdk/client-s3";
import { SecurityHubClient } from "@aws-sdk/client-securityhub";
import { STSClient } from "@aws-sdk/client-sts";
import { isThrottlingError } from "@smithy/core/retry";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import { type RateLimit, RateLimiter } from "./rate-limiter.ts";
import type { Sleep } from "./retry.ts";
import { PRODUCT_NAME, PRODUCT_VERSION } from "./version.ts";

/** Counts the AWS API calls a run makes, per service and operation (reports and benchmarks print them). */
export class ApiCallCounter {
  private readonly calls = new Map<string, number>();
  private retries = 0;

  record(service: string, operation: string): void {
    const key = `${service}:${operation}`;
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
  }

  /** Records the extra HTTP attempts the SDK's retry strategy made for one call. */
  recordRetries(count: number): void {
    this.retries += count;
  }

  /** Total calls made (one per command sent, whatever the retries). */
  get total(): number {
    let total = 0;
    for (const count of this.calls.values()) total += count;
    return total;
  }

  get retryAttempts(): number {
    return this.retries;
  }

  count(service: string, operation: string): number {
    return this.calls.get(`${service}:${operation}`) ?? 0;
  }

  /** `{ "EC2:DescribeVpcs": 2, ... }`, sorted by key. */
  byOperation(): Record<string, number> {
    return Object.fromEntries([...this.calls.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }
}

export interface CreateClientsOptions {
  region: string;
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Attempts per call in the SDK's standard retry mode (1 = no retries). Default: AWS_MAX_ATTEMPTS or 8. */
  maxAttempts?: number;
  /** Shared counter; a new one is made when absent. */
  counter?: ApiCallCounter;
  /** Client-side limiter for this account and region; none when absent. */
  rateLimiter?: RateLimiter;
  /** An endpoint for every service (tests put a fault proxy here); default: the SDK's, or AWS_ENDPOINT_URL. */
  endpoint?: string;
  /** Time to open a connection before the attempt fails (and is retried). Default: 5 s. */
  connectionTimeoutMs?: number;
  /** Time a request may wait for its response before the attempt fails (and is retried). Default: 30 s. */
  requestTimeoutMs?: number;
}

/** One SDK client per service for one region, all built the same way. */
export interface AwsClients {
  readonly region: string;
  readonly counter: ApiCallCounter;
  readonly ec2: EC2Client;
  readonly logs: CloudWatchLogsClient;
  readonly events: EventBridgeClient;
  /** IAM is global; its client talks to the partition's global endpoint whatever `region` is. */
  readonly iam: IAMClient;
  readonly sts: STSClient;
  /** Used by `doctor` only. */
  readonly cloudtrail: CloudTrailClient;
  /** Used by `--security-hub` only (findings are imported per account and region). */
  readonly securityhub: SecurityHubClient;
  /** Used by `cost` only (IncomingBytes of the flow log groups). */
  readonly cloudwatch: CloudWatchClient;
  /** Used by `doctor` only (an S3 destination's bucket). */
  readonly s3: S3Client;
  /** Used by `doctor` only (the key of an SSE-KMS destination bucket). */
  readonly kms: KMSClient;
}

const DEFAULT_MAX_ATTEMPTS = 8;
const DEFAULT_CONNECTION_TIMEOUT_MS = 5_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/**
 * Builds the SDK clients every part of flowlog-guard uses, so that endpoint, retries, user agent
 * and call counting are the same everywhere. The SDK itself honours `AWS_ENDPOINT_URL` (and the
 * per-service `AWS_ENDPOINT_URL_<SERVICE>`), which is how tests and the demo reach moto.
 *
 * @example
 * const clients = createClients({ region: "eu-west-1" });
 * await clients.ec2.send(new DescribeVpcsCommand({}));
 * clients.counter.byOperation(); // { "EC2:DescribeVpcs": 1 }
 */
export function createClients(options: CreateClientsOptions): AwsClients {
  const counter = options.counter ?? new ApiCallCounter();
  const config = sdkClientConfig(options);
  const instrument = <T>(client: T, service: string): T =>
    withErrorBodies(withRateLimit(withCallCounting(client, service, counter), service, options.rateLimiter));
  return {
    region: options.region,
    counter,
    ec2: instrument(new EC2Client(config), "EC2"),
    logs: instrument(new CloudWatchLogsClient(config), "Logs"),
    events: instrument(new EventBridgeClient(config), "EventBridge"),
    iam: instrument(new IAMClient({ ...config, region: globalRegionOf(options.region) }), "IAM"),
    sts: instrument(new STSClient(config), "STS"),
    cloudtrail: instrument(new CloudTrailClient(config), "CloudTrail"),
    securityhub: instrument(new SecurityHubClient(config), "SecurityHub"),
    cloudwatch: instrument(new CloudWatchClient(config), "CloudWatch"),
    s3: instrument(
      new S3Client({
        ...config,
        followRegionRedirects: true,
        // An endpoint override (moto, a proxy) serves buckets by path, not by bucket.host name.
        forcePathStyle: Boolean(options.endpoint ?? process.env.AWS_ENDPOINT_URL),
      }),
      "S3",
    ),
    kms: instrument(new KMSClient(config), "KMS"),
  };
}

/**
 * The configuration every SDK client of flowlog-guard is built with: credentials, standard retries,
 * user agent, endpoint and timeouts. For a client outside {@link AwsClients} (the CLI's SQS client
 * for `redrive`, the Organizations client), so that it honours `--profile`, `--role-arn` and
 * `--request-timeout` exactly as the others do.
 *
 * @example new SQSClient(sdkClientConfig({ region: "eu-west-1", credentials }))
 */
export function sdkClientConfig(options: Omit<CreateClientsOptions, "counter" | "rateLimiter">) {
  const envAttempts = Number.parseInt(process.env.AWS_MAX_ATTEMPTS ?? "", 10);
  return {
    region: options.region,
    credentials: options.credentials,
    retryMode: "standard",
    maxAttempts: options.maxAttempts ?? (envAttempts > 0 ? envAttempts : DEFAULT_MAX_ATTEMPTS),
    customUserAgent: [[PRODUCT_NAME, PRODUCT_VERSION]] as [string, string][],
    endpoint: options.endpoint,
    // Without these an endpoint that accepts and never answers hangs a run for minutes.
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
      requestTimeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      throwOnRequestTimeout: true,
    },
  };
}

/** The region that hosts a partition's global services (IAM). */
export function globalRegionOf(region: string): string {
  if (region.startsWith("cn-")) return "cn-north-1";
  if (region.startsWith("us-gov-")) return "us-gov-west-1";
  return "us-east-1";
}

// The SDK's middleware types differ per client; these are the parts used here.
type Middleware = (
  next: (args: unknown) => Promise<{ output?: { $metadata?: { attempts?: number } }; response?: unknown }>,
  context: { commandName?: string; flowlogGuardErrorBody?: string; flowlogGuardThrottled?: boolean },
) => (args: unknown) => Promise<unknown>;

interface MiddlewareHost {
  middlewareStack: {
    add(
      middleware: Middleware,
      options: { step: "initialize" | "finalizeRequest" | "deserialize"; name: string; priority?: "low" },
    ): void;
  };
}

/**
 * Keeps the body of error responses (status >= 400, up to 64 KiB) so that an error the SDK cannot
 * parse (an XML error from a JSON API, an HTML page from a proxy) still says what came back: the
 * text is attached to the error as `$responseBodyText`, which `describeError` reads.
 */
function withErrorBodies<T>(client: T): T {
  const host = client as unknown as MiddlewareHost;
  host.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const response = result.response as { statusCode?: number; body?: unknown } | undefined;
      if (response && (response.statusCode ?? 0) >= 400 && response.body instanceof Readable) {
        const chunks: Buffer[] = [];
        for await (const chunk of response.body) chunks.push(Buffer.from(chunk as Buffer));
        const body = Buffer.concat(chunks);
        context.flowlogGuardErrorBody = body.subarray(0, 65_536).toString("utf8");
        response.body = Readable.from([body]);
      }
      return result;
    },
    { step: "deserialize", name: "flowlogGuardKeepErrorBody", priority: "low" },
  );
  host.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        if (context.flowlogGuardErrorBody && error instanceof Error && !("$responseBodyText" in error)) {
          Object.defineProperty(error, "$responseBodyText", { value: context.flowlogGuardErrorBody });
        }
        throw error;
      }
    },
    { step: "initialize", name: "flowlogGuardAttachErrorBody" },
  );
  return client;
}

/**
 * Every HTTP attempt (retries included: the retry middleware wraps this one) waits for a token, and
 * tells the limiter whether AWS throttled it, so the limiter follows AWS's real bucket. An attempt of
 * a call that was throttled before is "throttled-again": AWS's bucket stayed empty across the SDK's
 * backoff, which only that slows the API down (the retry middleware keeps one context per call).
 */
function withRateLimit<T>(client: T, service: string, limiter: RateLimiter | undefined): T {
  if (!limiter) return client;
  (client as unknown as MiddlewareHost).middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? "Unknown").replace(/Command$/, "");
      await limiter.acquire(service, operation);
      const sent = limiter.clock();
      try {
        const result = await next(args);
        limiter.observe(service, operation, "succeeded", limiter.clock() - sent);
        return result;
      } catch (error) {
        if (isThrottlingError(error as Parameters<typeof isThrottlingError>[0])) {
          const outcome = context.flowlogGuardThrottled ? "throttled-again" : "throttled";
          limiter.observe(service, operation, outcome, limiter.clock() - sent);
          context.flowlogGuardThrottled = true;
        }
        throw error;
      }
    },
    { step: "finalizeRequest", name: "flowlogGuardRateLimit", priority: "low" },
  );
  return client;
}

function withCallCounting<T>(client: T, service: string, counter: ApiCallCounter): T {
  (client as unknown as MiddlewareHost).middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? "Unknown").replace(/Command$/, "");
      counter.record(service, operation);
      try {
        const result = await next(args);
        counter.recordRetries(Math.max(0, (result.output?.$metadata?.attempts ?? 1) - 1));
        return result;
      } catch (error) {
        const attempts = (error as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1;
        counter.recordRetries(Math.max(0, attempts - 1));
        throw error;
      }
    },
    { step: "initialize", name: "flowlogGuardApiCallCounter" },
  );
  return client;
}

/** Clients for any number of regions, built once per region, sharing one call counter. */
export interface ClientPool {
  readonly counter: ApiCallCounter;
  clientsFor(region: string): AwsClients;
}

/**
 * @param options.apiRate requests per second per API instead of AWS's buckets; 0 turns limiting off
 *   (benchmarks against moto). Absent: AWS's buckets (see `defaultRateLimit`).
 * @param options.rateLimits each API's bucket instead of AWS's published ones (see `RateLimiter`).
 * @param options.limiterClock the limiter's clock and sleep (tests); default: the real ones.
 */
export function createClientPool(
  options: Omit<CreateClientsOptions, "region" | "rateLimiter"> & {
    apiRate?: number;
    rateLimits?: (service: string, operation: string) => RateLimit | undefined;
    limiterClock?: { now: () => number; sleep: Sleep };
  } = {},
): ClientPool {
  const { apiRate, rateLimits, limiterClock, ...clientOptions } = options;
  const counter = options.counter ?? new ApiCallCounter();
  const byRegion = new Map<string, AwsClients>();
  return {
    counter,
    clientsFor(region) {
      let clients = byRegion.get(region);
      if (!clients) {
        const rateLimiter =
          apiRate === 0
            ? undefined
            : new RateLimiter({
                override: apiRate,
                ...(rateLimits ? { limits: rateLimits } : {}),
                now: limiterClock?.now,
                sleep: limiterClock?.sleep,
              });
        clients = createClients({ ...clientOptions, region, counter, rateLimiter });
        byRegion.set(region, clients);
      }
      return clients;
    },
  };
}
