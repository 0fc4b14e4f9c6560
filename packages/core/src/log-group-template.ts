/**
 * The log group name template (`logGroupName` in the policy, e.g. `/aws/vpc-flow-logs/{vpcId}`):
 * everything that reads or fills it lives here, so that the names flowlog-guard creates, lists,
 * grants the delivery role, and recognises in events can never disagree.
 */

export const LOG_GROUP_TEMPLATE_PLACEHOLDERS = ["{vpcId}", "{region}", "{accountId}"] as const;

/** What `{vpcId}` stands for in names and IAM patterns. */
const VPC_ID_PATTERN = "vpc-[0-9a-f]{8,32}";

/** Values that fill a template for one VPC of one account and region. */
export interface TemplateValues {
  vpcId: string;
  region: string;
  accountId: string;
}

const SAMPLE: TemplateValues = {
  vpcId: "vpc-0123456789abcdef0",
  region: "ap-southeast-2",
  accountId: "123456789012",
};

/** Fills a log group name template: `/aws/vpc-flow-logs/{vpcId}` -> `/aws/vpc-flow-logs/vpc-0abc`. */
export function renderLogGroupName(template: string, values: TemplateValues): string {
  return template
    .replaceAll("{vpcId}", values.vpcId)
    .replaceAll("{region}", values.region)
    .replaceAll("{accountId}", values.accountId);
}

/** A template without `{vpcId}` gives one log group per region (or account) that VPCs share. */
export function isSharedLogGroupTemplate(template: string): boolean {
  return !template.includes("{vpcId}");
}

/** The fixed text before the first placeholder, used as `logGroupNamePrefix` when listing our groups. */
export function logGroupTemplatePrefix(
  template: string,
  values: Pick<TemplateValues, "region" | "accountId">,
): string {
  const filled = template.replaceAll("{region}", values.region).replaceAll("{accountId}", values.accountId);
  const placeholder = filled.indexOf("{vpcId}");
  return placeholder < 0 ? filled : filled.slice(0, placeholder);
}

/**
 * The text every name the template produces starts with, in any region and account (placeholders
 * other than `{vpcId}` differ per region and account): the prefix EventBridge rules match on.
 * Empty when the template starts with a placeholder.
 */
export function logGroupEventPrefix(template: string): string {
  return template.split("{")[0] ?? "";
}

/**
 * The log-group name pattern a template can produce, for IAM resources: `{vpcId}` -> `vpc-*`,
 * `{region}` -> `*`, `{accountId}` -> the account (`"*"`: every account of an organization).
 */
export function logGroupNamePattern(template: string, accountId: string): string {
  return template
    .replaceAll("{vpcId}", "vpc-*")
    .replaceAll("{region}", "*")
    .replaceAll("{accountId}", accountId);
}

/**
 * The VPC a log group belongs to, read from the name template (`/aws/vpc-flow-logs/{vpcId}`), or
 * `"shared"` when the template has no `{vpcId}` and the name is the region's shared group, or
 * undefined when the name is not one the template produces.
 */
export function vpcOfLogGroup(
  template: string,
  logGroupName: string,
  values: Pick<TemplateValues, "region" | "accountId">,
): string | undefined {
  const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  const pattern = template
    .split(/(\{vpcId\}|\{region\}|\{accountId\})/)
    .map((part) => {
      if (part === "{vpcId}") return `(${VPC_ID_PATTERN})`;
      if (part === "{region}") return literal(values.region);
      if (part === "{accountId}") return literal(values.accountId);
      return literal(part);
    })
    .join("");
  const match = new RegExp(`^${pattern}$`).exec(logGroupName);
  if (!match) return undefined;
  return isSharedLogGroupTemplate(template) ? "shared" : match[1];
}

/** What is wrong with a template, as messages for the configuration error; empty when it is usable. */
export function logGroupTemplateProblems(template: string): string[] {
  const unknown = (template.match(/\{[^}]*\}/g) ?? []).filter(
    (placeholder) => !(LOG_GROUP_TEMPLATE_PLACEHOLDERS as readonly string[]).includes(placeholder),
  );
  if (unknown.length > 0) {
    return [
      `unknown placeholder ${unknown.join(", ")}; use only ${LOG_GROUP_TEMPLATE_PLACEHOLDERS.join(", ")}`,
    ];
  }
  const sample = renderLogGroupName(template, SAMPLE);
  const problems: string[] = [];
  if (!/^[.\-_/#A-Za-z0-9]+$/.test(sample) || sample.length > 512) {
    problems.push("a log group name has 1-512 characters from A-Z a-z 0-9 . - _ / # only");
  }
  if (sample.startsWith("aws/")) problems.push("a log group name cannot start with 'aws/' (use '/aws/...')");
  return problems;
}
