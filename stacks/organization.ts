/**
 * Organization mode wiring, as functions of names and ARNs (unit-tested under Pulumi mocks): the
 * member template as a service-managed StackSet with auto-deployment, the central bus policy, the
 * management account handled explicitly, and the sweep state machine. Templates, policies and the
 * state machine definition are data from core.
 */
import {
  buildMemberTemplate,
  buildSweepDefinition,
  centralBusPolicy,
  IAM_EVENTS_REGION,
  type Policy,
  sweepStateMachinePolicy,
} from "@flowlog-guard/core/data";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { OrganizationDeployConfig } from "./config.ts";

export const MEMBER_STACK_SET_NAME = "flowlog-guard-member";
export const SWEEP_STATE_MACHINE_NAME = "flowlog-guard-org-sweep";
export const SWEEP_RESULT_PREFIX = "sweeps";

/** Regions of the member stack instances: every watched region, and us-east-1 (IAM events, the roles). */
export function memberRegions(watchedRegions: string[]): string[] {
  return [...new Set([...watchedRegions, IAM_EVENTS_REGION])].sort();
}

/**
 * Accounts the StackSet leaves out of its OUs (AccountFilterType DIFFERENCE): the excluded ones and
 * the central account, whose own functions cover it (and already forward its events).
 */
export function stackSetExclusions(config: OrganizationDeployConfig, centralAccountId: string): string[] {
  return [...new Set([...config.excludedAccounts, centralAccountId])].sort();
}

/** Accounts the functions never touch: the excluded ones, and the management account when excluded. */
export function runtimeExclusions(config: OrganizationDeployConfig): string[] {
  const excluded = [...config.excludedAccounts];
  if (config.managementAccount === "exclude") excluded.push(config.managementAccountId);
  return [...new Set(excluded)].sort();
}

/** The FLOWLOG_GUARD_* settings of organization mode, for every central function. */
export function organizationEnvironment(config: OrganizationDeployConfig): Record<string, string> {
  return {
    FLOWLOG_GUARD_ORGANIZATION_ID: config.organizationId,
    FLOWLOG_GUARD_MEMBER_ROLE_NAME: config.memberRoleName,
    FLOWLOG_GUARD_EXCLUDE_ACCOUNTS: runtimeExclusions(config).join(","),
    FLOWLOG_GUARD_OU: config.organizationalUnits.join(","),
  };
}

/** The member template as a service-managed StackSet, auto-deployed to the OUs in every member region. */
export function createMemberStackSet(args: {
  config: OrganizationDeployConfig;
  policy: Policy;
  homeRegion: string;
  watchedRegions: string[];
  centralAccountId: pulumi.Input<string>;
  centralBusArn: pulumi.Input<string>;
}) {
  const { config } = args;
  const callAs = config.deployedFrom === "delegated-admin" ? "DELEGATED_ADMIN" : "SELF";
  const template = buildMemberTemplate({ policy: args.policy, memberRoleName: config.memberRoleName });
  // Every parameter is set (the provider shows perpetual diffs for parameters left to defaults).
  const parameters = pulumi.all([args.centralAccountId, args.centralBusArn]).apply(([central, bus]) => ({
    CentralAccountId: central,
    CentralEventBusArn: bus,
    OrganizationId: config.organizationId,
    OperatorRoleArns: config.operatorRoleArns.join(","),
    RoleRegion: IAM_EVENTS_REGION,
  }));
  const stackSet = new aws.cloudformation.StackSet("MemberStackSet", {
    name: MEMBER_STACK_SET_NAME,
    description: "flowlog-guard: member role and CloudTrail event forwarders in every account",
    templateBody: JSON.stringify(template),
    parameters,
    capabilities: ["CAPABILITY_NAMED_IAM"],
    permissionModel: "SERVICE_MANAGED",
    autoDeployment: { enabled: true, retainStacksOnAccountRemoval: false },
    managedExecution: { active: true },
    callAs,
    operationPreferences: {
      failureTolerancePercentage: 10,
      maxConcurrentPercentage: 25,
      regionConcurrencyType: "PARALLEL",
    },
  });
  const instances = memberRegions(args.watchedRegions).map(
    (region) =>
      new aws.cloudformation.StackSetInstance(`MemberStackSet${region.replace(/-/g, "")}`, {
        stackSetName: stackSet.name,
        stackSetInstanceRegion: region,
        callAs,
        deploymentTargets: {
          organizationalUnitIds: config.organizationalUnits,
          accountFilterType: "DIFFERENCE",
          accounts: pulumi
            .output(args.centralAccountId)
            .apply((central) => stackSetExclusions(config, central)),
        },
        operationPreferences: {
          failureTolerancePercentage: 10,
          maxConcurrentPercentage: 25,
          concurrencyMode: "SOFT_FAILURE_TOLERANCE",
        },
      }),
  );
  return { stackSet, instances, template };
}

/** The management account with `manual-stack`/`central` gets nothing from StackSets; nothing is created here for it. */
export function managementAccountCoverage(config: OrganizationDeployConfig): string {
  switch (config.managementAccount) {
    case "central":
      return `management account ${config.managementAccountId}: covered by this deployment's own role`;
    case "manual-stack":
      return `management account ${config.managementAccountId}: deploy \`flowlog-guard member-template\` there (docs/organizations.md)`;
    case "exclude":
      return `management account ${config.managementAccountId}: excluded, reported as skipped`;
  }
}

/** Lets organization members put (forwarded CloudTrail) events on the central default bus. */
export function createCentralBusPolicy(args: { busArn: pulumi.Input<string>; organizationId: string }) {
  return new aws.cloudwatch.EventBusPolicy("CentralBusPolicy", {
    eventBusName: "default",
    policy: pulumi
      .output(args.busArn)
      .apply((arn) => JSON.stringify(centralBusPolicy(arn, args.organizationId))),
  });
}

/** The sweep: results bucket, state machine role, the Distributed Map state machine, and its schedule. */
export function createSweep(args: {
  config: OrganizationDeployConfig;
  partition: pulumi.Input<string>;
  region: string;
  accountId: pulumi.Input<string>;
  listAccountsArn: pulumi.Input<string>;
  workerArn: pulumi.Input<string>;
  schedule: string;
  retain: boolean;
}) {
  const bucket = new aws.s3.Bucket(
    "SweepResults",
    { forceDestroy: !args.retain },
    { retainOnDelete: args.retain },
  );
  const role = new aws.iam.Role("SweepRole", {
    assumeRolePolicy: JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Principal: { Service: "states.amazonaws.com" }, Action: "sts:AssumeRole" },
      ],
    }),
  });
  const ready = pulumi.all([
    args.partition,
    args.accountId,
    args.listAccountsArn,
    args.workerArn,
    bucket.bucket,
  ]);
  const policy = new aws.iam.RolePolicy("SweepRolePolicy", {
    role: role.id,
    policy: ready.apply(([partition, accountId, listArn, workerArn, bucketName]) =>
      JSON.stringify(
        sweepStateMachinePolicy({
          partition,
          region: args.region,
          accountId,
          stateMachineName: SWEEP_STATE_MACHINE_NAME,
          functionArns: [listArn, workerArn],
          resultBucket: bucketName,
          resultPrefix: SWEEP_RESULT_PREFIX,
        }),
      ),
    ),
  });
  const machine = new aws.sfn.StateMachine(
    "SweepStateMachine",
    {
      name: SWEEP_STATE_MACHINE_NAME,
      type: "STANDARD",
      roleArn: role.arn,
      definition: ready.apply(([, , listArn, workerArn, bucketName]) =>
        JSON.stringify(
          buildSweepDefinition({
            listAccountsFunctionArn: listArn,
            workerFunctionArn: workerArn,
            resultBucket: bucketName,
            resultPrefix: SWEEP_RESULT_PREFIX,
            ...args.config.sweep,
          }),
        ),
      ),
    },
    { dependsOn: [policy] },
  );
  const schedulerRole = new aws.iam.Role("SweepScheduleRole", {
    assumeRolePolicy: JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Principal: { Service: "scheduler.amazonaws.com" }, Action: "sts:AssumeRole" },
      ],
    }),
  });
  new aws.iam.RolePolicy("SweepScheduleRolePolicy", {
    role: schedulerRole.id,
    policy: machine.arn.apply((arn) =>
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "states:StartExecution", Resource: arn }],
      }),
    ),
  });
  new aws.scheduler.Schedule("SweepSchedule", {
    scheduleExpression: args.schedule,
    flexibleTimeWindow: { mode: "OFF" },
    target: { arn: machine.arn, roleArn: schedulerRole.arn, input: JSON.stringify({ dryRun: false }) },
  });
  return { bucket, role, machine };
}
