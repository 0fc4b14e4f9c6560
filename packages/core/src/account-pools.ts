import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import { memoize } from "@smithy/property-provider";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, Pluggable } from "@smithy/types";
import { ApiCallCounter, type ClientPool, createClientPool } from "./aws-clients.ts";
import { MEMBER_ROLE_NAME, memberRoleArn } from "./member-template.ts";
import type { RateLimit } from "./rate-limiter.ts";

/** Credentials are refreshed when less than this is left (the SDK's own margin is the same 5 minutes). */
export const CREDENTIAL_REFRESH_MARGIN_MS = 300_000;
/** Role chaining (a Lambda role assuming a member role) allows at most one hour. */
const SESSION_SECONDS = 3600;

export interface AccountPoolsOptions {
  partition: string;
  /** Region of the STS endpoint used to assume member roles (the caller's own region). */
  homeRegion: string;
  /** Default: flowlog-guard-member. */
  memberRoleName?: string;
  /** Shown in the member account's CloudTrail (`RoleSessionName`): the run id, or the event id. */
  sessionName: string;
  /** The central credentials that assume member roles; default: the SDK's chain. */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** As in createClientPool: 0 = no client-side limiting; absent = AWS's buckets, per account and region. */
  apiRate?: number;
  /** As in createClientPool: each API's bucket instead of AWS's published ones. */
  rateLimits?: (service: string, operation: string) => RateLimit | undefined;
  endpoint?: string;
  maxAttempts?: number;
  /** As in createClientPool: per-request timeout of every member client. */
  requestTimeoutMs?: number;
  counter?: ApiCallCounter;
  now?: () => number;
}

/** Clients keyed by (account, region): one ClientPool per account, sharing one credential cache and counter. */
export interface AccountPools {
  readonly counter: ApiCallCounter;
  poolFor(accountId: string): ClientPool;
}

/**
 * Counts the AssumeRole calls made by the credential provider's own STS client. The provider applies
 * its plugins again on every refresh, to the same client: added once per stack.
 */
function countingPlugin(counter: ApiCallCounter): Pluggable<object, object> {
  const applied = new WeakSet<object>();
  return {
    applyToStack(stack) {
      if (applied.has(stack)) return;
      applied.add(stack);
      stack.add(
        (next, context) => (args) => {
          counter.record("STS", (context.commandName ?? "Unknown").replace(/Command$/, ""));
          return next(args);
        },
        { step: "initialize", name: "flowlogGuardAssumeRoleCounter" },
      );
    },
  };
}

/**
 * The member role's credentials for one account: assumed once, shared by every client of that
 * account (all regions, all services), refreshed when less than five minutes are left, one refresh
 * at a time (the SDK's `fromTemporaryCredentials` behind `@smithy/property-provider`'s memoize).
 */
export function memberCredentials(
  accountId: string,
  options: AccountPoolsOptions,
  counter: ApiCallCounter,
): AwsCredentialIdentityProvider {
  const now = options.now ?? Date.now;
  const provider = fromTemporaryCredentials({
    params: {
      RoleArn: memberRoleArn(options.partition, accountId, options.memberRoleName ?? MEMBER_ROLE_NAME),
      RoleSessionName: options.sessionName.replace(/[^\w+=,.@-]/g, "-").slice(0, 64),
      DurationSeconds: SESSION_SECONDS,
    },
    // Pinned to the caller's region: otherwise STS would be called in each client's region.
    clientConfig: {
      region: options.homeRegion,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    },
    clientPlugins: [countingPlugin(counter)],
    ...(options.credentials ? { masterCredentials: options.credentials } : {}),
  });
  return memoize(
    provider,
    (credentials) =>
      credentials.expiration !== undefined &&
      credentials.expiration.getTime() - now() < CREDENTIAL_REFRESH_MARGIN_MS,
    (credentials) => credentials.expiration !== undefined,
  );
}

/**
 * One client pool per member account, each with that account's assumed-role credentials and its
 * own rate buckets per region (AWS's buckets are per account and region).
 *
 * @example
 * const pools = createAccountPools({ partition: "aws", homeRegion: "us-east-1", sessionName: runId });
 * await pools.poolFor("111122223333").clientsFor("eu-west-1").ec2.send(new DescribeVpcsCommand({}));
 */
export function createAccountPools(options: AccountPoolsOptions): AccountPools {
  const counter = options.counter ?? new ApiCallCounter();
  const pools = new Map<string, ClientPool>();
  return {
    counter,
    poolFor(accountId) {
      let pool = pools.get(accountId);
      if (!pool) {
        pool = createClientPool({
          counter,
          credentials: memberCredentials(accountId, options, counter),
          ...(options.apiRate !== undefined ? { apiRate: options.apiRate } : {}),
          ...(options.rateLimits ? { rateLimits: options.rateLimits } : {}),
          ...(options.endpoint ? { endpoint: options.endpoint } : {}),
          ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
          ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
        });
        pools.set(accountId, pool);
      }
      return pool;
    },
  };
}
