import type { Policy } from "./config.ts";
import { DELIVERY_ROLE_PATH } from "./config.ts";
import { ConfigError } from "./errors.ts";
import { EXCEPTION_TAGS } from "./exceptions.ts";
import { logGroupNamePattern } from "./log-group-template.ts";
import { MANAGED_TAG } from "./naming.ts";
import type { PolicyDocument, PolicyStatement } from "./policy-documents.ts";

/**
 * AWS Organizations' size limit for one service control policy document, in characters. The SDK and
 * CLI store a policy as sent (whitespace counts); the console strips whitespace. AWS reportedly raised
 * the limit to 10,240 in 2026; flowlog-guard keeps to the documented 5,120 so the SCP fits either way.
 */
export const SCP_MAX_CHARACTERS = 5120;

/** The exception tag keys, as one IAM pattern: `flowlog-guard:exception-*`. */
export const EXCEPTION_TAG_PATTERN = `${EXCEPTION_TAGS.owner.slice(0, EXCEPTION_TAGS.owner.lastIndexOf("-") + 1)}*`;

export interface GuardrailsOptions {
  partition: string;
  policy: Pick<Policy, "roleName" | "logGroupName">;
  /**
   * Principal ARN patterns of flowlog-guard itself, exempt from every statement. Default
   * {@link defaultGuardRolePatterns}: the roles under `/flowlog-guard/` (delivery and member roles)
   * and the deployment's function roles, named `flowlog-guard-*` by the SST app.
   */
  guardRoles?: string[];
  /** Principals allowed to set or remove `flowlog-guard:exception-*` tags. None: tags are not fenced. */
  exceptionApprovers?: string[];
}

/** The principals flowlog-guard runs as, in every account of an organization. */
export function defaultGuardRolePatterns(partition: string): string[] {
  return [
    `arn:${partition}:iam::*:role${DELIVERY_ROLE_PATH}*`,
    `arn:${partition}:iam::*:role/flowlog-guard-*`,
  ];
}

/**
 * The service control policy `flowlog-guard guardrails` prints. It denies, to every principal but
 * flowlog-guard's own roles: deleting flow logs tagged `flowlog-guard:managed=true` (and moving that
 * tag), deleting or re-timing the log groups the name template produces, and changing the delivery
 * role. With approvers, only they may set or remove `flowlog-guard:exception-*` tags, on any resource
 * and also at creation (tags given in a create call are authorised as `ec2:CreateTags`).
 * Throws a ConfigError when the document would not fit {@link SCP_MAX_CHARACTERS}.
 */
export function guardrailsPolicyDocument(options: GuardrailsOptions): PolicyDocument {
  const { partition, policy } = options;
  const guard = {
    ArnNotLike: { "aws:PrincipalArn": options.guardRoles ?? defaultGuardRolePatterns(partition) },
  };
  const groups = `arn:${partition}:logs:*:*:log-group:${logGroupNamePattern(policy.logGroupName, "*")}`;
  const flowLogs = `arn:${partition}:ec2:*:*:vpc-flow-log/*`;
  const statements: PolicyStatement[] = [
    {
      Sid: "ProtectManagedFlowLogs",
      Effect: "Deny",
      Action: "ec2:DeleteFlowLogs",
      Resource: flowLogs,
      Condition: { StringEquals: { [`aws:ResourceTag/${MANAGED_TAG.key}`]: MANAGED_TAG.value }, ...guard },
    },
    {
      Sid: "ProtectManagedTag",
      Effect: "Deny",
      Action: ["ec2:CreateTags", "ec2:DeleteTags"],
      Resource: flowLogs,
      Condition: { "ForAnyValue:StringEquals": { "aws:TagKeys": MANAGED_TAG.key }, ...guard },
    },
    {
      Sid: "ProtectFlowLogGroups",
      Effect: "Deny",
      Action: [
        "logs:DeleteLogGroup",
        "logs:DeleteLogStream",
        "logs:PutRetentionPolicy",
        "logs:PutLogGroupDeletionProtection",
      ],
      Resource: [groups, `${groups}:*`],
      Condition: guard,
    },
    {
      Sid: "ProtectDeliveryRole",
      Effect: "Deny",
      Action: [
        "iam:AttachRolePolicy",
        "iam:DeleteRole",
        "iam:DeleteRolePermissionsBoundary",
        "iam:DeleteRolePolicy",
        "iam:DetachRolePolicy",
        "iam:PutRolePermissionsBoundary",
        "iam:PutRolePolicy",
        "iam:UpdateAssumeRolePolicy",
      ],
      Resource: `arn:${partition}:iam::*:role${DELIVERY_ROLE_PATH}${policy.roleName}`,
      Condition: guard,
    },
  ];
  const approvers = options.exceptionApprovers ?? [];
  assertPrincipalPatterns(approvers, "--exception-approvers");
  assertPrincipalPatterns(options.guardRoles ?? [], "--guard-roles");
  if (approvers.length > 0)
    statements.push({
      Sid: "OnlyApproversTagExceptions",
      Effect: "Deny",
      Action: ["ec2:CreateTags", "ec2:DeleteTags"],
      Resource: "*",
      Condition: {
        "ForAnyValue:StringLike": { "aws:TagKeys": EXCEPTION_TAG_PATTERN },
        ArnNotLike: { "aws:PrincipalArn": approvers },
      },
    });
  const document: PolicyDocument = { Version: "2012-10-17", Statement: statements };
  assertFitsScpLimit(document);
  return document;
}

/** The text `guardrails` prints: indented JSON, exactly what is measured against the limit. */
export function renderPolicyDocument(document: PolicyDocument): string {
  return JSON.stringify(document, null, 2);
}

function assertFitsScpLimit(document: PolicyDocument): void {
  const length = renderPolicyDocument(document).length;
  if (length > SCP_MAX_CHARACTERS)
    throw new ConfigError(
      `The service control policy would be ${length} characters; AWS Organizations allows ${SCP_MAX_CHARACTERS}. ` +
        "Give fewer --exception-approvers (a wildcard such as arn:aws:iam::*:role/SecurityApprover* " +
        "covers several) or fewer --guard-roles.",
    );
}

const PRINCIPAL_ARN = /^arn:(aws|aws-cn|aws-us-gov|\*):(iam|sts)::(\d{12}|\*):[A-Za-z0-9+=,.@_/*?-]+$/;

function assertPrincipalPatterns(values: string[], flag: string): void {
  const bad = values.filter((value) => !PRINCIPAL_ARN.test(value));
  if (bad.length > 0)
    throw new ConfigError(
      `${flag} takes IAM principal ARNs (wildcards allowed), such as ` +
        `arn:aws:iam::111122223333:role/SecurityApprover; not ${bad.map((v) => JSON.stringify(v)).join(", ")}`,
    );
}
