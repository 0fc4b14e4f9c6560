import { type AccountSelection, MEMBER_ROLE_NAME, validateAccountSelection } from "@flowlog-guard/core";
import { type Command, Option } from "commander";
import { UsageError } from "./errors.ts";
import { type Env, positiveInteger, uniqueList } from "./options.ts";

/** Organization flags of scan and fix-all; any of --accounts / --ou switches to organization mode. */
export function addAccountOptions(command: Command): Command {
  const group = "Organization (run from the management or a delegated-administrator account):";
  const options = [
    new Option("--accounts <all|ids>", "all (every ACTIVE account) or comma-separated account ids"),
    new Option("--ou <ids>", "accounts under these OUs (or r-... root), recursively; comma-separated"),
    new Option("--exclude-accounts <ids>", "comma-separated account ids never touched"),
    new Option("--member-role-name <name>", "role assumed in each account (default: flowlog-guard-member)"),
    new Option("--account-concurrency <n>", "accounts worked on at once (default: 8)"),
  ];
  for (const option of options) command.addOption(option.helpGroup(group));
  return command;
}

export interface AccountSettings {
  selection: AccountSelection;
  memberRoleName: string;
  accountConcurrency: number;
}

const ORGANIZATION_ONLY = {
  excludeAccounts: "--exclude-accounts",
  memberRoleName: "--member-role-name",
  accountConcurrency: "--account-concurrency",
};

/** Undefined in single-account mode (no --accounts, no --ou); lists given twice count once. */
export function resolveAccountSettings(
  options: Record<string, unknown>,
  env: Env,
): AccountSettings | undefined {
  const accountsRaw = (options.accounts as string | undefined) ?? env.FLOWLOG_GUARD_ACCOUNTS;
  const ouRaw = (options.ou as string | undefined) ?? env.FLOWLOG_GUARD_OU;
  if (accountsRaw === undefined && ouRaw === undefined) {
    for (const [key, flag] of Object.entries(ORGANIZATION_ONLY))
      if (options[key] !== undefined)
        throw new UsageError(
          `${flag} needs organization mode: add --accounts all (or --accounts ID,ID or --ou ou-...)`,
        );
    return undefined;
  }
  const selection: AccountSelection = {
    accounts:
      accountsRaw === undefined ? undefined : accountsRaw.trim() === "all" ? "all" : uniqueList(accountsRaw),
    ous: ouRaw === undefined ? undefined : uniqueList(ouRaw),
    exclude: uniqueList(
      (options.excludeAccounts as string | undefined) ?? env.FLOWLOG_GUARD_EXCLUDE_ACCOUNTS ?? "",
    ),
  };
  if (Array.isArray(selection.accounts) && selection.accounts.length === 0)
    throw new UsageError('--accounts takes "all" or comma-separated 12-digit account ids');
  try {
    validateAccountSelection(selection);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const memberRoleName = (options.memberRoleName as string | undefined) ?? MEMBER_ROLE_NAME;
  if (!/^[\w+=,.@-]{1,64}$/.test(memberRoleName))
    throw new UsageError(
      `--member-role-name must be an IAM role name, not ${JSON.stringify(memberRoleName)}`,
    );
  const concurrency = options.accountConcurrency as string | undefined;
  return {
    selection,
    memberRoleName,
    accountConcurrency: positiveInteger(
      concurrency === undefined ? undefined : { raw: concurrency, name: "--account-concurrency" },
      8,
      256,
    ),
  };
}
