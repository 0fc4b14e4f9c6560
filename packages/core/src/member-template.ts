import { type Policy, roleBoundaryFor } from "./config.ts";
import { buildEventPatterns, IAM_EVENTS_REGION } from "./event-patterns.ts";
import { DELIVERY_POLICY_NAME, DELIVERY_ROLE_DESCRIPTION, MANAGED_TAG } from "./naming.ts";
import {
  DELIVERY_ROLE_PATH,
  deliveryRolePermissionsPolicy,
  deliveryRoleTrustPolicy,
  type PolicyDocument,
} from "./policy-documents.ts";
import { REGION_NAME_PATTERN } from "./regions.ts";
import { servicePolicyDocument } from "./service-policy.ts";

/** Name and path of the role flowlog-guard assumes in each member account (a public contract). */
export const MEMBER_ROLE_NAME = "flowlog-guard-member";
export const MEMBER_ROLE_PATH = "/flowlog-guard/";
/** Path of the central deployment's function roles: the member role trusts exactly these. */
export const CENTRAL_ROLE_PATH = "/flowlog-guard/central/";
/** Role EventBridge uses in a member account to put forwarded events on the central bus. */
export const FORWARD_ROLE_NAME = "flowlog-guard-forward";
/** Name of the inline policy on the member role. */
export const MEMBER_POLICY_NAME = "flowlog-guard-service";

/** `arn:aws:iam::111122223333:role/flowlog-guard/flowlog-guard-member`. */
export function memberRoleArn(partition: string, accountId: string, roleName = MEMBER_ROLE_NAME): string {
  return `arn:${partition}:iam::${accountId}:role${MEMBER_ROLE_PATH}${roleName}`;
}

export interface MemberTemplateOptions {
  policy: Pick<Policy, "roleName" | "logGroupName"> &
    Partial<Pick<Policy, "destinationType" | "logDestination" | "resourceType" | "rolePermissionsBoundary">>;
  /** Default: flowlog-guard-member. */
  memberRoleName?: string;
  /** Defaults baked into the parameters (the stacks and `member-template --organization-id` set them). */
  defaults?: {
    organizationId?: string;
    centralAccountId?: string;
    centralEventBusArn?: string;
    operatorRoleArns?: string[];
    roleRegion?: string;
  };
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export interface CloudFormationTemplate {
  AWSTemplateFormatVersion: "2010-09-09";
  Description: string;
  Parameters: Record<string, Record<string, Json>>;
  Conditions: Record<string, Json>;
  Resources: Record<string, { Type: string; Condition?: string; Properties: Record<string, Json> }>;
  Outputs: Record<string, Json>;
}

/** Strings with `${AWS::...}` or `${Parameter}` become `Fn::Sub`, so one document serves every account. */
function substituted(value: unknown): Json {
  if (typeof value === "string") return value.includes("${") ? { "Fn::Sub": value } : value;
  if (Array.isArray(value)) return value.map(substituted);
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substituted(item)]));
  return value as Json;
}

/** The service policy (`iam-policy`) scoped to the account the stack runs in; records are published centrally. */
function memberPolicyDocument(policy: MemberTemplateOptions["policy"]): Json {
  const document: PolicyDocument = servicePolicyDocument({
    partition: "${AWS::Partition}",
    accountId: "${AWS::AccountId}",
    // Records are published centrally: no ledger statement. The destination follows the policy.
    policy: { ...policy, ledgerBus: undefined },
  });
  return substituted(document);
}

/**
 * Trust of the member role: the central deployment's function roles (any role under
 * /flowlog-guard/central/ in CentralAccountId, matched by `aws:PrincipalArn` so that a recreated
 * function role keeps working) and, when given, the named operator roles; both only from inside
 * the organization (`aws:PrincipalOrgID`).
 */
function memberTrustPolicy(): Json {
  const orgOnly = { StringEquals: { "aws:PrincipalOrgID": { Ref: "OrganizationId" } } };
  const central = {
    Sid: "CentralFunctions",
    Effect: "Allow",
    Principal: { AWS: { "Fn::Sub": "arn:${AWS::Partition}:iam::${CentralAccountId}:root" } },
    Action: "sts:AssumeRole",
    Condition: {
      ...orgOnly,
      ArnLike: {
        "aws:PrincipalArn": {
          "Fn::Sub": `arn:\${AWS::Partition}:iam::\${CentralAccountId}:role${CENTRAL_ROLE_PATH}*`,
        },
      },
    },
  };
  const operators = {
    Sid: "OperatorRoles",
    Effect: "Allow",
    Principal: { AWS: { Ref: "OperatorRoleArns" } },
    Action: "sts:AssumeRole",
    Condition: orgOnly,
  };
  // The whole list is chosen (not AWS::NoValue inside it): emulators keep a null for NoValue in lists.
  return {
    Version: "2012-10-17",
    Statement: { "Fn::If": ["HasOperatorRoles", [central, operators], [central]] },
  };
}

function parameters(
  defaults: NonNullable<MemberTemplateOptions["defaults"]>,
): Record<string, Record<string, Json>> {
  const withDefault = (value: string | undefined): Record<string, Json> =>
    value === undefined ? {} : { Default: value };
  return {
    CentralAccountId: {
      Type: "String",
      Description: "Account of the central flowlog-guard deployment (its functions assume the member role)",
      AllowedPattern: "^\\d{12}$",
      ConstraintDescription: "a 12-digit AWS account id",
      ...withDefault(defaults.centralAccountId),
    },
    CentralEventBusArn: {
      Type: "String",
      Description: "Central event bus that receives this account's CloudTrail events; empty: no forwarders",
      AllowedPattern: "^(arn:aws[a-z-]*:events:[a-z0-9-]+:\\d{12}:event-bus/[A-Za-z0-9._/-]+)?$",
      ConstraintDescription: "an event bus ARN, or empty",
      Default: defaults.centralEventBusArn ?? "",
    },
    OrganizationId: {
      Type: "String",
      Description: "The organization (o-...): only principals inside it may assume the member role",
      AllowedPattern: "^o-[a-z0-9]{10,32}$",
      ConstraintDescription: "an AWS Organizations id, o-...",
      ...withDefault(defaults.organizationId),
    },
    OperatorRoleArns: {
      Type: "CommaDelimitedList",
      Description: "Optional operator roles (in the organization) that may run the CLI across accounts",
      Default: (defaults.operatorRoleArns ?? []).join(","),
    },
    RoleRegion: {
      Type: "String",
      Description:
        "The one region whose stack creates the account's IAM roles (deploy to many regions safely)",
      AllowedPattern: REGION_NAME_PATTERN.source,
      Default: defaults.roleRegion ?? IAM_EVENTS_REGION,
    },
  };
}

const CONDITIONS: Record<string, Json> = {
  CreateRoles: { "Fn::Equals": [{ Ref: "AWS::Region" }, { Ref: "RoleRegion" }] },
  Forward: { "Fn::Not": [{ "Fn::Equals": [{ Ref: "CentralEventBusArn" }, ""] }] },
  CreateForwardRole: { "Fn::And": [{ Condition: "CreateRoles" }, { Condition: "Forward" }] },
  ForwardIam: {
    "Fn::And": [{ Condition: "Forward" }, { "Fn::Equals": [{ Ref: "AWS::Region" }, IAM_EVENTS_REGION] }],
  },
  HasOperatorRoles: {
    "Fn::Not": [{ "Fn::Equals": [{ "Fn::Join": ["", { Ref: "OperatorRoleArns" }] }, ""] }],
  },
};

const FORWARD_ROLE_ARN = `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role${MEMBER_ROLE_PATH}${FORWARD_ROLE_NAME}`;
const TAGS = [{ Key: MANAGED_TAG.key, Value: MANAGED_TAG.value }];

function forwardingResources(policy: MemberTemplateOptions["policy"]) {
  const patterns = buildEventPatterns(policy);
  const rule = (kind: keyof typeof patterns, condition: string) => ({
    Type: "AWS::Events::Rule",
    Condition: condition,
    Properties: {
      Description: `flowlog-guard: forward ${kind} CloudTrail events to the central bus`,
      EventBusName: "default",
      State: "ENABLED",
      EventPattern: patterns[kind] as unknown as Json,
      Targets: [
        { Id: "central-bus", Arn: { Ref: "CentralEventBusArn" }, RoleArn: { "Fn::Sub": FORWARD_ROLE_ARN } },
      ],
    },
  });
  return {
    ForwardRole: {
      Type: "AWS::IAM::Role",
      Condition: "CreateForwardRole",
      Properties: {
        RoleName: FORWARD_ROLE_NAME,
        Path: MEMBER_ROLE_PATH,
        Description: "EventBridge puts this account's CloudTrail events on the central flowlog-guard bus",
        AssumeRolePolicyDocument: {
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { Service: "events.amazonaws.com" },
              Action: "sts:AssumeRole",
              Condition: { StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } } },
            },
          ],
        },
        Policies: [
          {
            PolicyName: "put-events-on-central-bus",
            PolicyDocument: {
              Version: "2012-10-17",
              Statement: [
                { Effect: "Allow", Action: "events:PutEvents", Resource: { Ref: "CentralEventBusArn" } },
              ],
            },
          },
        ],
        Tags: TAGS,
      },
    },
    ForwardEc2Rule: rule("ec2", "Forward"),
    ForwardLogsRule: rule("logs", "Forward"),
    // IAM is global: its CloudTrail events reach only us-east-1's default bus.
    ForwardIamRule: rule("iam", "ForwardIam"),
  };
}

const PARTITION = "${AWS::Partition}";
const ACCOUNT = "${AWS::AccountId}";

/**
 * The flow-logs delivery role, exactly as a run would create it (name, path, trust, inline policy,
 * description; tagged as managed): made once per account by the stack, so that an organization-wide
 * run only reads it (GetRole, GetRolePolicy: its drift is still detected and repaired by the run)
 * instead of creating it in every account. None for an S3 destination, which needs no role.
 */
function deliveryRoleResources(policy: MemberTemplateOptions["policy"]): CloudFormationTemplate["Resources"] {
  if (policy.destinationType === "s3") return {};
  return {
    DeliveryRole: {
      Type: "AWS::IAM::Role",
      Condition: "CreateRoles",
      Properties: {
        RoleName: policy.roleName,
        Path: DELIVERY_ROLE_PATH,
        Description: DELIVERY_ROLE_DESCRIPTION,
        AssumeRolePolicyDocument: substituted(deliveryRoleTrustPolicy(PARTITION, ACCOUNT)),
        ...boundaryProperty(policy),
        Policies: [
          {
            PolicyName: DELIVERY_POLICY_NAME,
            PolicyDocument: substituted(
              deliveryRolePermissionsPolicy(policy.logGroupName, PARTITION, ACCOUNT),
            ),
          },
        ],
        Tags: TAGS,
      },
    },
  };
}

/**
 * `PermissionsBoundary` for the roles the template creates, with `rolePermissionsBoundary`: an SCP that
 * requires a boundary on every new role refuses the stack's CreateRole without it. `{accountId}` is
 * each member account's own.
 */
function boundaryProperty(policy: MemberTemplateOptions["policy"]): { PermissionsBoundary?: Json } {
  const boundary = roleBoundaryFor(policy, ACCOUNT);
  return boundary ? { PermissionsBoundary: substituted(boundary) } : {};
}

/**
 * The CloudFormation template (JSON) every member account gets, from a service-managed StackSet or
 * by hand (`flowlog-guard member-template`): the `flowlog-guard-member` role with exactly the service
 * policy scoped to that account, and the flow-logs delivery role a run would otherwise create, both
 * created once per account (in `RoleRegion`); and, where
 * `CentralEventBusArn` is set, rules on each region's default bus that forward the CloudTrail events
 * flowlog-guard handles to the central bus.
 *
 * @example
 * const template = buildMemberTemplate({ policy: parsePolicy({}) });
 * await cfn.send(new CreateStackCommand({ StackName: "flowlog-guard-member", TemplateBody: JSON.stringify(template),
 *   Capabilities: ["CAPABILITY_NAMED_IAM"], Parameters: [{ ParameterKey: "CentralAccountId", ParameterValue: "111122223333" }] }));
 */
export function buildMemberTemplate(options: MemberTemplateOptions): CloudFormationTemplate {
  const roleName = options.memberRoleName ?? MEMBER_ROLE_NAME;
  return {
    AWSTemplateFormatVersion: "2010-09-09",
    Description: `flowlog-guard member account access: role ${MEMBER_ROLE_PATH}${roleName} for the central deployment, and event forwarders`,
    Parameters: parameters(options.defaults ?? {}),
    Conditions: CONDITIONS,
    Resources: {
      MemberRole: {
        Type: "AWS::IAM::Role",
        Condition: "CreateRoles",
        Properties: {
          RoleName: roleName,
          Path: MEMBER_ROLE_PATH,
          Description: "flowlog-guard's central deployment keeps VPC Flow Logs on in this account",
          MaxSessionDuration: 3600,
          AssumeRolePolicyDocument: memberTrustPolicy(),
          ...boundaryProperty(options.policy),
          Policies: [
            { PolicyName: MEMBER_POLICY_NAME, PolicyDocument: memberPolicyDocument(options.policy) },
          ],
          Tags: TAGS,
        },
      },
      ...deliveryRoleResources(options.policy),
      ...forwardingResources(options.policy),
    },
    Outputs: {
      MemberRoleArn: {
        Condition: "CreateRoles",
        Description: "The role the central deployment assumes",
        Value: { "Fn::GetAtt": ["MemberRole", "Arn"] },
      },
    },
  };
}
