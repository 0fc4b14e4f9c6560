import { partitionOf, readAccountIdentity, servicePolicyDocument } from "@flowlog-guard/core";
import { UsageError } from "../errors.ts";
import type { Io } from "../io.ts";
import { createPool, homeRegionOf, resolvePolicy } from "../options.ts";

/** `iam-policy`: the least-privilege policy the CLI and the functions need, as JSON. */
export async function iamPolicyCommand(options: Record<string, unknown>, io: Io): Promise<number> {
  const policy = resolvePolicy(options, io.env);
  let accountId = options.accountId as string | undefined;
  let partition = options.partition as string | undefined;
  if (accountId !== undefined && !/^\d{12}$/.test(accountId)) {
    throw new UsageError(`--account-id must be a 12-digit AWS account id, not ${JSON.stringify(accountId)}`);
  }
  const region = homeRegionOf(undefined, io.env);
  if (!accountId) {
    const identity = await readAccountIdentity(createPool({ apiRate: undefined }).clientsFor(region));
    accountId = identity.accountId;
    partition ??= identity.partition;
  }
  const document = servicePolicyDocument({
    partition: partition ?? partitionOf(region),
    accountId,
    policy,
    ...(options.ledgerRegion ? { ledgerRegion: options.ledgerRegion as string } : {}),
  });
  io.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  return 0;
}
