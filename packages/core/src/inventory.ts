import {
  type DescribeLogGroupsCommandInput,
  ListTagsForResourceCommand,
  paginateDescribeLogGroups,
} from "@aws-sdk/client-cloudwatch-logs";
import {
  DescribeRegionsCommand,
  type Filter,
  type FlowLog,
  paginateDescribeFlowLogs,
  paginateDescribeInternetGateways,
  paginateDescribeSubnets,
  paginateDescribeVpcs,
  type Tag,
  type Vpc,
} from "@aws-sdk/client-ec2";
import {
  GetRoleCommand,
  GetRolePolicyCommand,
  paginateListAttachedRolePolicies,
  type Role,
} from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import type { AwsClients } from "./aws-clients.ts";
import type { Policy } from "./config.ts";
import { isNoSuchEntity } from "./errors.ts";
import { kmsKeyForRegion } from "./kms-keys.ts";
import { logGroupTemplatePrefix, renderLogGroupName } from "./log-group-template.ts";
import type {
  FlowLogFacts,
  LogGroupFacts,
  RegionInventory,
  RoleFacts,
  SubnetFacts,
  VpcFacts,
} from "./model.ts";
import { DELIVERY_POLICY_NAME, MANAGED_TAG } from "./naming.ts";
import { type PolicyDocument, parsePolicyDocument } from "./policy-documents.ts";

export interface AccountIdentity {
  accountId: string;
  partition: string;
  callerArn: string;
}

/** Who we are: the account and partition every ARN is built from. */
export async function readAccountIdentity(clients: AwsClients): Promise<AccountIdentity> {
  const identity = await clients.sts.send(new GetCallerIdentityCommand({}));
  const callerArn = identity.Arn ?? "";
  return { accountId: identity.Account ?? "", partition: callerArn.split(":")[1] || "aws", callerArn };
}

/**
 * The delivery role: its trust, its inline policy, the managed policies attached to it and its
 * permissions boundary (declared: no managed policy, and no boundary unless `rolePermissionsBoundary`
 * names one; either can deny delivery). "Not found"
 * is an answer; any other error is thrown. Read once per account and run (a role that does not exist
 * yet costs one call).
 */
export async function readDeliveryRole(clients: AwsClients, roleName: string): Promise<RoleFacts> {
  let role: Role | undefined;
  try {
    role = (await clients.iam.send(new GetRoleCommand({ RoleName: roleName }))).Role;
  } catch (error) {
    if (isNoSuchEntity(error)) return { exists: false };
    throw error;
  }
  const facts: RoleFacts = { exists: true };
  if (role?.Arn) facts.arn = role.Arn;
  if (role?.AssumeRolePolicyDocument) facts.trustPolicy = parsePolicyDocument(role.AssumeRolePolicyDocument);
  const boundary = role?.PermissionsBoundary?.PermissionsBoundaryArn;
  if (boundary) facts.permissionsBoundaryArn = boundary;
  // Independent reads: side by side, the role costs two round trips, not three.
  const [inline, attached] = await Promise.all([
    readInlinePolicy(clients, roleName, DELIVERY_POLICY_NAME),
    readAttachedPolicyArns(clients, roleName),
  ]);
  if (inline) facts.permissionsPolicy = inline;
  facts.attachedPolicyArns = attached;
  return facts;
}

/** ARNs of the managed policies attached to a role (ListAttachedRolePolicies, 1000 a page). */
export async function readAttachedPolicyArns(clients: AwsClients, roleName: string): Promise<string[]> {
  const arns: string[] = [];
  const pages = paginateListAttachedRolePolicies(
    { client: clients.iam, pageSize: 1000 },
    { RoleName: roleName },
  );
  for await (const page of pages) {
    for (const policy of page.AttachedPolicies ?? []) if (policy.PolicyArn) arns.push(policy.PolicyArn);
  }
  return arns;
}

/** An inline policy of a role, or undefined when the role has none by that name. */
export async function readInlinePolicy(
  clients: AwsClients,
  roleName: string,
  policyName: string,
): Promise<PolicyDocument | undefined> {
  try {
    const response = await clients.iam.send(
      new GetRolePolicyCommand({ RoleName: roleName, PolicyName: policyName }),
    );
    return response.PolicyDocument ? parsePolicyDocument(response.PolicyDocument) : undefined;
  } catch (error) {
    if (isNoSuchEntity(error)) return undefined;
    throw error;
  }
}

export function tagsToRecord(tags: readonly Tag[] | undefined): Record<string, string> {
  const record: Record<string, string> = {};
  for (const tag of tags ?? []) if (tag.Key !== undefined) record[tag.Key] = tag.Value ?? "";
  return record;
}

/**
 * A DescribeVpcs entry reduced to what the evaluation reads, with its owner: a VPC shared through
 * AWS RAM carries the owner's `OwnerId` (see {@link VpcFacts.ownerId}). Undefined for an entry with no id.
 */
export function toVpcFacts(vpc: Vpc, internetFacing: ReadonlySet<string>): VpcFacts | undefined {
  if (!vpc.VpcId) return undefined;
  return {
    vpcId: vpc.VpcId,
    isDefault: vpc.IsDefault ?? false,
    tags: tagsToRecord(vpc.Tags),
    internetFacing: internetFacing.has(vpc.VpcId),
    ...(vpc.OwnerId ? { ownerId: vpc.OwnerId } : {}),
  };
}

export function toFlowLogFacts(flowLog: FlowLog): FlowLogFacts {
  return {
    flowLogId: flowLog.FlowLogId ?? "",
    resourceId: flowLog.ResourceId ?? "",
    flowLogStatus: flowLog.FlowLogStatus,
    deliverLogsStatus: flowLog.DeliverLogsStatus,
    deliverLogsErrorMessage: flowLog.DeliverLogsErrorMessage,
    trafficType: flowLog.TrafficType,
    destinationType: flowLog.LogDestinationType,
    logGroupName: flowLog.LogGroupName,
    logDestination: flowLog.LogDestination,
    managed: (flowLog.Tags ?? []).some(
      (tag) => tag.Key === MANAGED_TAG.key && tag.Value === MANAGED_TAG.value,
    ),
  };
}

/** Resource-id filter values per DescribeFlowLogs request (EC2 caps the values of a filter; 200 is safe). */
const RESOURCE_IDS_PER_REQUEST = 200;

/**
 * Reads the flow logs of a region attached to VPCs (and, with `subnets`, to subnets): all of them, or
 * those attached to `resourceIds` (VPC or subnet ids), 1000 a page.
 */
export async function readFlowLogs(
  clients: AwsClients,
  resourceIds?: readonly string[],
  options: { subnets?: boolean } = {},
): Promise<FlowLogFacts[]> {
  const prefixes = options.subnets ? ["vpc-", "subnet-"] : ["vpc-"];
  const requests: (Filter[] | undefined)[] = [];
  if (!resourceIds) requests.push(undefined);
  for (let start = 0; resourceIds && start < resourceIds.length; start += RESOURCE_IDS_PER_REQUEST) {
    requests.push([
      { Name: "resource-id", Values: resourceIds.slice(start, start + RESOURCE_IDS_PER_REQUEST) },
    ]);
  }
  const flowLogs: FlowLogFacts[] = [];
  for (const filters of requests) {
    const input = filters ? { Filter: filters } : {};
    for await (const page of paginateDescribeFlowLogs({ client: clients.ec2, pageSize: 1000 }, input)) {
      for (const flowLog of page.FlowLogs ?? []) {
        const id = flowLog.ResourceId ?? "";
        if (prefixes.some((prefix) => id.startsWith(prefix))) flowLogs.push(toFlowLogFacts(flowLog));
      }
    }
  }
  return flowLogs;
}

/**
 * Reads a region's subnets (all, or those of `vpcIds`), with their VPC and tags: one DescribeSubnets
 * call per page of 1000, never one per VPC. Only Subnet mode reads them.
 */
export async function readSubnets(clients: AwsClients, vpcIds?: readonly string[]): Promise<SubnetFacts[]> {
  const input = vpcIds ? { Filters: [{ Name: "vpc-id", Values: [...vpcIds] }] } : {};
  const subnets: SubnetFacts[] = [];
  for await (const page of paginateDescribeSubnets({ client: clients.ec2, pageSize: 1000 }, input)) {
    for (const subnet of page.Subnets ?? []) {
      if (subnet.SubnetId && subnet.VpcId) {
        subnets.push({ subnetId: subnet.SubnetId, vpcId: subnet.VpcId, tags: tagsToRecord(subnet.Tags) });
      }
    }
  }
  return subnets.sort((a, b) => a.subnetId.localeCompare(b.subnetId));
}

/** Reads log groups by name prefix, 50 a page (the API's largest). */
export async function readLogGroups(clients: AwsClients, prefix: string): Promise<LogGroupFacts[]> {
  const input: DescribeLogGroupsCommandInput = prefix ? { logGroupNamePrefix: prefix } : {};
  const groups: LogGroupFacts[] = [];
  for await (const page of paginateDescribeLogGroups({ client: clients.logs, pageSize: 50 }, input)) {
    for (const group of page.logGroups ?? []) {
      if (group.logGroupName) {
        groups.push({
          name: group.logGroupName,
          retentionInDays: group.retentionInDays,
          kmsKeyId: group.kmsKeyId,
          ...(group.creationTime !== undefined ? { creationTime: group.creationTime } : {}),
          // DescribeLogGroups' `arn` ends in `:*`; tag calls take the ARN without it.
          ...(group.arn ? { arn: group.arn.replace(/:\*$/, "") } : {}),
        });
      }
    }
  }
  return groups;
}

/**
 * Reads what the planner needs about one region: VPCs, their flow logs, which have an internet
 * gateway, and the log groups the template can produce; in Subnet mode also the subnets and their
 * flow logs. With `vpcIds`, only those VPCs (an event). Pages are reduced to small facts as they
 * arrive, so memory stays flat as the estate grows.
 */
export async function readRegionInventory(
  clients: AwsClients,
  options: { accountId: string; policy: Policy; vpcIds?: readonly string[] },
): Promise<RegionInventory> {
  const { accountId, policy, vpcIds } = options;
  const region = clients.region;
  const found = await readVpcs(clients, vpcIds);
  // A region without VPCs (most regions of most member accounts) needs no other read.
  if (found.length === 0) return { region, vpcs: [], flowLogs: [], logGroups: [] };
  const prefix =
    vpcIds && vpcIds.length === 1
      ? renderLogGroupName(policy.logGroupName, { vpcId: vpcIds[0]!, region, accountId })
      : logGroupTemplatePrefix(policy.logGroupName, { region, accountId });
  // An S3 destination uses no log group: none read (its service policy grants no log-group action).
  const cloudWatch = policy.destinationType !== "s3";
  // The reads are independent: side by side, a region is read in the time of its slowest one.
  const [internetFacing, { flowLogs, subnets }, logGroups] = await Promise.all([
    readInternetFacing(clients, vpcIds),
    readFlowLogsAndSubnets(clients, policy, vpcIds),
    cloudWatch ? readLogGroups(clients, prefix) : Promise.resolve([]),
  ]);
  const vpcs = found.map((vpc) => ({ ...vpc, internetFacing: internetFacing.has(vpc.vpcId) }));
  const withSubnets = subnets ? { subnets } : {};
  if (!cloudWatch) return { region, vpcs, flowLogs, logGroups: [], ...withSubnets };
  // Our own flow logs may write to groups outside the template (it may have changed): read those too.
  const outside = new Set(
    flowLogs
      .filter((f) => f.managed && f.logGroupName && !f.logGroupName.startsWith(prefix))
      .map((f) => f.logGroupName!),
  );
  for (const name of outside) {
    logGroups.push(...(await readLogGroups(clients, name)).filter((group) => group.name === name));
  }
  const templateNames = new Set(
    vpcs.map((vpc) => renderLogGroupName(policy.logGroupName, { vpcId: vpc.vpcId, region, accountId })),
  );
  const key = kmsKeyForRegion(policy.kmsKeyArn, region);
  const tagsDecide = (group: LogGroupFacts) =>
    (group.retentionInDays === undefined && templateNames.has(group.name)) ||
    (key !== undefined &&
      group.kmsKeyId !== key &&
      (templateNames.has(group.name) || outside.has(group.name)));
  await readManagedTags(clients, logGroups.filter(tagsDecide));
  return { region, vpcs, flowLogs, logGroups, ...withSubnets };
}

/** The flow logs of a region's VPCs and, in Subnet mode, its subnets and theirs. */
async function readFlowLogsAndSubnets(
  clients: AwsClients,
  policy: Policy,
  vpcIds: readonly string[] | undefined,
): Promise<{ flowLogs: FlowLogFacts[]; subnets?: SubnetFacts[] }> {
  const subnetMode = policy.resourceType === "Subnet";
  const subnets = subnetMode ? await readSubnets(clients, vpcIds) : undefined;
  // An event reads the flow logs of its VPCs and of their subnets; a full run reads them all.
  const resourceIds = vpcIds && subnets ? [...vpcIds, ...subnets.map((s) => s.subnetId)] : vpcIds;
  const flowLogs = await readFlowLogs(clients, resourceIds, { subnets: subnetMode });
  return subnets ? { flowLogs, subnets } : { flowLogs };
}

/** The VPCs (of `vpcIds`, or all) with an internet gateway attached. */
async function readInternetFacing(clients: AwsClients, vpcIds?: readonly string[]): Promise<Set<string>> {
  const internetFacing = new Set<string>();
  const gatewayFilter = vpcIds ? { Filters: [{ Name: "attachment.vpc-id", Values: [...vpcIds] }] } : {};
  for await (const page of paginateDescribeInternetGateways(
    { client: clients.ec2, pageSize: 1000 },
    gatewayFilter,
  )) {
    for (const gateway of page.InternetGateways ?? []) {
      for (const attachment of gateway.Attachments ?? [])
        if (attachment.VpcId) internetFacing.add(attachment.VpcId);
    }
  }
  return internetFacing;
}

/** The region's VPCs (all, or `vpcIds`); internet-facing is marked once the gateways are read. */
async function readVpcs(clients: AwsClients, vpcIds: readonly string[] | undefined): Promise<VpcFacts[]> {
  const vpcFilter = vpcIds ? { Filters: [{ Name: "vpc-id", Values: [...vpcIds] }] } : {};
  const vpcs: VpcFacts[] = [];
  const none = new Set<string>();
  for await (const page of paginateDescribeVpcs({ client: clients.ec2, pageSize: 1000 }, vpcFilter)) {
    for (const vpc of page.Vpcs ?? []) {
      const facts = toVpcFacts(vpc, none);
      if (facts) vpcs.push(facts);
    }
  }
  return vpcs;
}

/**
 * Marks which of `groups` flowlog-guard manages (its `managed` tag), one ListTagsForResource each.
 * Asked only where the answer changes a decision: a group of the template that never expires its
 * events, or a group of this region's VPCs or of flowlog-guard's flow logs that is not on the region's
 * configured KMS key. A healthy estate costs no call here, and customer groups elsewhere are never read.
 */
async function readManagedTags(clients: AwsClients, groups: readonly LogGroupFacts[]): Promise<void> {
  for (const group of groups) {
    if (!group.arn) continue;
    const { tags } = await clients.logs.send(new ListTagsForResourceCommand({ resourceArn: group.arn }));
    group.managed = tags?.[MANAGED_TAG.key] === MANAGED_TAG.value;
  }
}

/** Regions enabled for the account (DescribeRegions without AllRegions: opted-in and default ones). */
export async function listEnabledRegions(clients: AwsClients): Promise<string[]> {
  const response = await clients.ec2.send(new DescribeRegionsCommand({}));
  return (response.Regions ?? []).flatMap((region) => (region.RegionName ? [region.RegionName] : [])).sort();
}
