import {
  type Account,
  DescribeAccountCommand,
  DescribeOrganizationCommand,
  OrganizationsClient,
  paginateListAccounts,
  paginateListAccountsForParent,
  paginateListChildren,
} from "@aws-sdk/client-organizations";
import type { AwsCredentialIdentityProvider } from "@smithy/types";
import { globalRegionOf, sdkClientConfig } from "./aws-clients.ts";
import { ConfigError } from "./errors.ts";

/**
 * Organizations answers from one endpoint per partition (us-east-1 in the commercial one).
 * `credentials`: the caller's (the CLI's `--profile`/`--role-arn`); default: the SDK's chain.
 */
export function createOrganizationsClient(
  region: string,
  options: { endpoint?: string; credentials?: AwsCredentialIdentityProvider; requestTimeoutMs?: number } = {},
): OrganizationsClient {
  return new OrganizationsClient(sdkClientConfig({ ...options, region: globalRegionOf(region) }));
}

/** Which accounts an organization run covers (CLI `--accounts`, `--ou`, `--exclude-accounts`). */
export interface AccountSelection {
  /** `all`: every ACTIVE account; a list: exactly these (each must be in the organization). */
  accounts?: "all" | string[];
  /** Accounts under these OUs (or the root), recursively. */
  ous?: string[];
  /** Never touched, whatever else selects them. */
  exclude?: string[];
}

export interface OrganizationAccount {
  accountId: string;
  name?: string;
}

/** Why a selected account is not worked on: each kind is reported and counted, never silently dropped. */
export type AccountSkipKind = "excluded" | "not-active" | "not-in-organization";
export interface SkippedAccount {
  accountId: string;
  kind: AccountSkipKind;
  message: string;
}

export interface ResolvedAccounts {
  organizationId: string;
  managementAccountId: string;
  targets: OrganizationAccount[];
  skipped: SkippedAccount[];
}

const ACCOUNT_ID = /^\d{12}$/;
const OU_ID = /^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$/;

/**
 * Checks a selection before any AWS call: account ids are 12 digits, OUs look like `ou-...` or
 * `r-...`, and a list of accounts is not mixed with OUs (say which one you mean).
 */
export function validateAccountSelection(selection: AccountSelection): void {
  const problems: string[] = [];
  const ids = [
    ...(Array.isArray(selection.accounts) ? selection.accounts : []),
    ...(selection.exclude ?? []),
  ];
  for (const id of ids) if (!ACCOUNT_ID.test(id)) problems.push(`"${id}" is not a 12-digit AWS account id`);
  for (const ou of selection.ous ?? [])
    if (!OU_ID.test(ou))
      problems.push(`"${ou}" is not an organizational unit id (ou-xxxx-xxxxxxxx) or root id (r-xxxx)`);
  if (Array.isArray(selection.accounts) && (selection.ous?.length ?? 0) > 0)
    problems.push("give either a list of accounts or --ou, not both (--accounts all --ou ou-... is fine)");
  if (problems.length > 0) throw new ConfigError(`Invalid account selection:\n- ${problems.join("\n- ")}`);
}

/** `Account.Status` is retired in 2026 in favour of `State`; read either. */
function stateOf(account: Account): string {
  return (account.State ?? account.Status ?? "UNKNOWN").toString();
}

async function listAll(client: OrganizationsClient): Promise<Account[]> {
  const accounts: Account[] = [];
  // The paginator follows NextToken through empty pages, as Organizations requires.
  for await (const page of paginateListAccounts({ client }, {})) accounts.push(...(page.Accounts ?? []));
  return accounts;
}

/** Accounts directly under `parent` and, recursively, under its child OUs. */
async function listUnder(client: OrganizationsClient, parent: string): Promise<Account[]> {
  const accounts: Account[] = [];
  for await (const page of paginateListAccountsForParent({ client }, { ParentId: parent }))
    accounts.push(...(page.Accounts ?? []));
  const children: string[] = [];
  for await (const page of paginateListChildren(
    { client },
    { ParentId: parent, ChildType: "ORGANIZATIONAL_UNIT" },
  ))
    children.push(...(page.Children ?? []).map((child) => child.Id ?? "").filter(Boolean));
  for (const child of children) accounts.push(...(await listUnder(client, child)));
  return accounts;
}

/**
 * Resolves a selection into the accounts to work on and the accounts skipped, with the kind of each
 * skip. Runs from the management account or a delegated administrator (Organizations allows its
 * list calls only there).
 *
 * @example
 * const { targets, skipped } = await resolveAccounts(organizations, { accounts: "all", exclude: ["111122223333"] });
 */
export async function resolveAccounts(
  client: OrganizationsClient,
  selection: AccountSelection,
): Promise<ResolvedAccounts> {
  validateAccountSelection(selection);
  const organization = (await client.send(new DescribeOrganizationCommand({}))).Organization;
  const all = await listAll(client);
  const byId = new Map(all.map((account) => [account.Id ?? "", account]));
  let candidates: Account[];
  const skipped: SkippedAccount[] = [];
  if (Array.isArray(selection.accounts)) {
    candidates = [];
    for (const id of new Set(selection.accounts)) {
      const account = byId.get(id);
      if (account) candidates.push(account);
      else
        skipped.push({
          accountId: id,
          kind: "not-in-organization",
          message: `account ${id} is not in organization ${organization?.Id}: check the id (flowlog-guard only works inside the organization)`,
        });
    }
  } else if ((selection.ous?.length ?? 0) > 0) {
    const under = new Map<string, Account>();
    for (const ou of selection.ous ?? [])
      for (const account of await listUnder(client, ou))
        under.set(account.Id ?? "", byId.get(account.Id ?? "") ?? account);
    candidates = [...under.values()];
  } else {
    candidates = all;
  }
  const excluded = new Set(selection.exclude ?? []);
  const targets: OrganizationAccount[] = [];
  for (const account of candidates.sort((a, b) => (a.Id ?? "").localeCompare(b.Id ?? ""))) {
    const accountId = account.Id ?? "";
    const state = stateOf(account);
    if (excluded.has(accountId))
      skipped.push({
        accountId,
        kind: "excluded",
        message: `account ${accountId} is excluded (--exclude-accounts)`,
      });
    else if (state !== "ACTIVE")
      skipped.push({
        accountId,
        kind: "not-active",
        message: `account ${accountId} is ${state}, not ACTIVE: left alone`,
      });
    else targets.push({ accountId, ...(account.Name ? { name: account.Name } : {}) });
  }
  return {
    organizationId: organization?.Id ?? "",
    managementAccountId: organization?.MasterAccountId ?? "",
    targets,
    skipped,
  };
}

/** Whether flowlog-guard may act in an account: a member of the organization, ACTIVE, in scope, not excluded. */
export type Membership = { member: true } | { member: false; reason: string };

/** How long a membership answer is reused by a Lambda container. */
const MEMBERSHIP_TTL_MS = 900_000;

/**
 * A cached membership check for events from member accounts: DescribeAccount (or, with OUs, the
 * accounts under them) from the management or delegated-administrator account. A "no" is an answer,
 * never an error: the event is refused, nothing is changed.
 */
export function createMembershipCheck(
  client: OrganizationsClient,
  scope: { organizationId: string; excludeAccounts: string[]; ous: string[] },
  now: () => number = Date.now,
): (accountId: string) => Promise<Membership> {
  const cache = new Map<string, { at: number; answer: Promise<Membership> }>();
  let underOus: { at: number; accounts: Promise<Map<string, Account>> } | undefined;
  const inScope = async (accountId: string): Promise<Account | undefined> => {
    if (scope.ous.length === 0) {
      try {
        return (await client.send(new DescribeAccountCommand({ AccountId: accountId }))).Account;
      } catch (error) {
        if ((error as Error).name === "AccountNotFoundException") return undefined;
        throw error;
      }
    }
    if (!underOus || now() - underOus.at > MEMBERSHIP_TTL_MS) {
      const accounts = (async () => {
        const found = new Map<string, Account>();
        for (const ou of scope.ous)
          for (const account of await listUnder(client, ou)) found.set(account.Id ?? "", account);
        return found;
      })();
      underOus = { at: now(), accounts };
    }
    return (await underOus.accounts).get(accountId);
  };
  const check = async (accountId: string): Promise<Membership> => {
    if (scope.excludeAccounts.includes(accountId))
      return { member: false, reason: `account ${accountId} is excluded (FLOWLOG_GUARD_EXCLUDE_ACCOUNTS)` };
    const account = await inScope(accountId);
    if (!account)
      return {
        member: false,
        reason: `account ${accountId} is not in ${scope.ous.length > 0 ? `the covered OUs (${scope.ous.join(", ")}) of ` : ""}organization ${scope.organizationId}`,
      };
    if (stateOf(account) !== "ACTIVE")
      return { member: false, reason: `account ${accountId} is ${stateOf(account)}, not ACTIVE` };
    return { member: true };
  };
  return (accountId) => {
    const cached = cache.get(accountId);
    if (cached && now() - cached.at < MEMBERSHIP_TTL_MS) return cached.answer;
    const answer = check(accountId);
    answer.catch(() => cache.delete(accountId));
    cache.set(accountId, { at: now(), answer });
    return answer;
  };
}
