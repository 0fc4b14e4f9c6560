import { CENTRAL_ROLE_PATH, MEMBER_ROLE_NAME, MEMBER_ROLE_PATH } from "./member-template.ts";
import type { PolicyDocument, PolicyStatement } from "./policy-documents.ts";

/**
 * The central bus accepts forwarded events only from accounts of the organization: `events:PutEvents`
 * for any principal whose account is in `organizationId` (one statement, whatever the number of
 * accounts: the 10,240-character policy limit would not hold one per account).
 */
export function centralBusPolicy(busArn: string, organizationId: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "OrganizationMembersForwardCloudTrailEvents",
        Effect: "Allow",
        Principal: { AWS: "*" },
        Action: "events:PutEvents",
        Resource: busArn,
        Condition: { StringEquals: { "aws:PrincipalOrgID": organizationId } },
      },
    ],
  };
}

/**
 * What the central functions need on top of the service policy in organization mode: assume the
 * member role in any account (the role's trust decides which), and read the organization
 * (management or delegated-administrator account only).
 */
export function centralOrganizationStatements(
  partition: string,
  memberRoleName = MEMBER_ROLE_NAME,
): PolicyStatement[] {
  return [
    {
      Sid: "AssumeMemberRoles",
      Effect: "Allow",
      Action: ["sts:AssumeRole"],
      Resource: `arn:${partition}:iam::*:role${MEMBER_ROLE_PATH}${memberRoleName}`,
    },
    {
      Sid: "ReadOrganization",
      Effect: "Allow",
      Action: [
        "organizations:DescribeAccount",
        "organizations:DescribeOrganization",
        "organizations:ListAccounts",
        "organizations:ListAccountsForParent",
        "organizations:ListChildren",
      ],
      Resource: "*",
    },
  ];
}

/** The path every central function role gets, so that member roles trust exactly them. */
export { CENTRAL_ROLE_PATH };

/**
 * The sweep state machine's role: invoke its two functions, run its own Distributed Map children,
 * and write results under one prefix of one bucket.
 */
export function sweepStateMachinePolicy(args: {
  partition: string;
  region: string;
  accountId: string;
  stateMachineName: string;
  functionArns: string[];
  resultBucket: string;
  resultPrefix: string;
}): PolicyDocument {
  const machine = `arn:${args.partition}:states:${args.region}:${args.accountId}:stateMachine:${args.stateMachineName}`;
  const executions = `arn:${args.partition}:states:${args.region}:${args.accountId}:execution:${args.stateMachineName}/*`;
  const bucket = `arn:${args.partition}:s3:::${args.resultBucket}`;
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "InvokeSweepFunctions",
        Effect: "Allow",
        Action: ["lambda:InvokeFunction"],
        Resource: args.functionArns,
      },
      { Sid: "RunMapChildren", Effect: "Allow", Action: ["states:StartExecution"], Resource: machine },
      {
        Sid: "WatchMapChildren",
        Effect: "Allow",
        Action: ["states:DescribeExecution", "states:StopExecution"],
        Resource: executions,
      },
      {
        Sid: "WriteResults",
        Effect: "Allow",
        Action: ["s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"],
        Resource: `${bucket}/${args.resultPrefix}/*`,
      },
      { Sid: "ListResults", Effect: "Allow", Action: ["s3:ListBucket"], Resource: bucket },
    ],
  };
}
