import { z } from "zod";
import { ConfigError } from "./errors.ts";
import { MEMBER_ROLE_NAME } from "./member-template.ts";

const ids = (pattern: RegExp, what: string) =>
  z
    .string()
    .optional()
    .transform((raw) =>
      (raw ?? "")
        .split(",")
        .map((item) => item.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(pattern, what)));

const OrganizationEnvSchema = z.object({
  FLOWLOG_GUARD_ORGANIZATION_ID: z.string().regex(/^o-[a-z0-9]{10,32}$/, "an organization id, o-..."),
  FLOWLOG_GUARD_MEMBER_ROLE_NAME: z
    .string()
    .regex(/^[\w+=,.@-]{1,64}$/, "an IAM role name")
    .default(MEMBER_ROLE_NAME),
  FLOWLOG_GUARD_EXCLUDE_ACCOUNTS: ids(/^\d{12}$/, "12-digit account ids, comma-separated"),
  FLOWLOG_GUARD_OU: ids(
    /^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$/,
    "OU ids (ou-...) or the root (r-...)",
  ),
});

/** The functions' organization mode, from `FLOWLOG_GUARD_ORGANIZATION_ID` and friends (set by the stacks). */
export interface OrganizationConfig {
  organizationId: string;
  memberRoleName: string;
  excludeAccounts: string[];
  /** OUs covered; all accounts of the organization when empty. */
  ous: string[];
}

/**
 * Undefined without `FLOWLOG_GUARD_ORGANIZATION_ID` (single-account mode, unchanged); otherwise the
 * validated organization settings, or a ConfigError naming every bad variable.
 */
export function loadOrganizationConfig(
  env: Record<string, string | undefined>,
): OrganizationConfig | undefined {
  if (!env.FLOWLOG_GUARD_ORGANIZATION_ID) {
    const stray = [
      "FLOWLOG_GUARD_EXCLUDE_ACCOUNTS",
      "FLOWLOG_GUARD_MEMBER_ROLE_NAME",
      "FLOWLOG_GUARD_OU",
    ].filter((name) => env[name]);
    if (stray.length > 0)
      throw new ConfigError(
        `${stray.join(", ")} need FLOWLOG_GUARD_ORGANIZATION_ID (organization mode); set it or remove them`,
      );
    return undefined;
  }
  const result = OrganizationEnvSchema.safeParse(env);
  if (!result.success)
    throw new ConfigError(
      `Invalid organization settings in the environment:\n${z.prettifyError(result.error)}`,
    );
  const parsed = result.data;
  return {
    organizationId: parsed.FLOWLOG_GUARD_ORGANIZATION_ID,
    memberRoleName: parsed.FLOWLOG_GUARD_MEMBER_ROLE_NAME,
    excludeAccounts: parsed.FLOWLOG_GUARD_EXCLUDE_ACCOUNTS,
    ous: parsed.FLOWLOG_GUARD_OU,
  };
}
