import { fromIni, fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import {
  type AccountPools,
  type ClientPool,
  createAccountPools,
  createClientPool,
  listEnabledRegions,
} from "@flowlog-guard/core";
import { loadSharedConfigFiles } from "@smithy/core/config";
import type { AwsCredentialIdentityProvider } from "@smithy/types";
import { UsageError } from "./errors.ts";
import type { Io } from "./io.ts";
import { type Env, homeRegionOf, type RunSettings } from "./options.ts";

/** What every command that calls AWS starts from: its settings, one client pool, the regions to cover. */
export interface RunContext extends AwsAccess {
  settings: RunSettings;
  /** Region for account-wide calls (STS, IAM, the ledger bus). */
  homeRegion: string;
  /** The regions asked for, or every region enabled for the account. */
  regions: string[];
}

type AccessSettings = Partial<
  Pick<RunSettings, "apiRate" | "profile" | "roleArn" | "regions" | "requestTimeoutMs">
>;

/** Says which profile was asked for and that it does not exist, before the SDK says something vaguer. */
async function checkProfile(profile: string): Promise<void> {
  const files = await loadSharedConfigFiles({ ignoreCache: true });
  const known = new Set([...Object.keys(files.configFile), ...Object.keys(files.credentialsFile)]);
  if (known.has(profile)) return;
  const list = [...known].sort().join(", ") || "none";
  throw new UsageError(
    `AWS profile "${profile}" does not exist in ~/.aws/config or ~/.aws/credentials (profiles there: ${list}). ` +
      `Fix --profile / AWS_PROFILE, or create it with: aws configure --profile ${profile}`,
  );
}

/** Credentials from `--profile` and `--role-arn`; undefined: the SDK's default chain. */
async function credentialsFor(
  settings: AccessSettings,
  env: Env,
  homeRegion: string,
): Promise<AwsCredentialIdentityProvider | undefined> {
  const profile = settings.profile ?? env.AWS_PROFILE;
  if (profile) await checkProfile(profile);
  const base = settings.profile ? fromIni({ profile: settings.profile }) : undefined;
  if (!settings.roleArn) return base;
  return fromTemporaryCredentials({
    params: { RoleArn: settings.roleArn, RoleSessionName: "flowlog-guard-cli" },
    clientConfig: { region: homeRegion },
    ...(base ? { masterCredentials: base } : {}),
  });
}

/** How a command reaches AWS: one client pool, and the same credentials for clients outside it. */
export interface AwsAccess {
  pool: ClientPool;
  /** The credentials of `--profile`/`--role-arn`; undefined: the SDK's default chain. */
  credentials: AwsCredentialIdentityProvider | undefined;
  requestTimeoutMs: number | undefined;
}

/**
 * The access of a command: its credentials (resolved once, so `--role-arn` is assumed once), its API
 * rate, its timeouts. Clients outside the pool (SQS, Organizations) are built from `credentials` and
 * `requestTimeoutMs` with core's `sdkClientConfig`, so that they honour the same flags.
 */
export async function createAccessFor(settings: AccessSettings, env: Env): Promise<AwsAccess> {
  const homeRegion = homeRegionOf(settings.regions, env);
  const credentials = await credentialsFor(settings, env, homeRegion);
  const pool = createClientPool({
    apiRate: settings.apiRate,
    credentials,
    requestTimeoutMs: settings.requestTimeoutMs,
  });
  return { pool, credentials, requestTimeoutMs: settings.requestTimeoutMs };
}

/**
 * Organization mode: each member account's clients, through its member role, assumed with this
 * command's own credentials (`--profile`, `--role-arn`), API rate and request timeout.
 */
export function memberPoolsFor(
  access: AwsAccess & { homeRegion: string; apiRate: number | undefined },
  member: { partition: string; memberRoleName: string; sessionName: string },
): AccountPools {
  return createAccountPools({
    ...member,
    homeRegion: access.homeRegion,
    ...(access.apiRate !== undefined ? { apiRate: access.apiRate } : {}),
    ...(access.credentials ? { credentials: access.credentials } : {}),
    ...(access.requestTimeoutMs ? { requestTimeoutMs: access.requestTimeoutMs } : {}),
  });
}

/** One client pool for a command: its credentials, its API rate. */
export async function createPoolFor(settings: AccessSettings, env: Env): Promise<ClientPool> {
  return (await createAccessFor(settings, env)).pool;
}

/**
 * The setup `scan`, `fix-all` and `doctor` share: credentials, clients, home region, regions.
 *
 * @example const { pool, regions } = await createRunContext(settings, io);
 */
export async function createRunContext(settings: RunSettings, io: Io): Promise<RunContext> {
  const access = await createAccessFor(settings, io.env);
  const homeRegion = homeRegionOf(settings.regions, io.env);
  const regions = settings.regions ?? (await listEnabledRegions(access.pool.clientsFor(homeRegion)));
  return { ...access, settings, homeRegion, regions };
}
