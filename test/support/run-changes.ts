import {
  DescribeLogGroupsCommand,
  ListTagsForResourceCommand,
  type LogGroup,
} from "@aws-sdk/client-cloudwatch-logs";
import { DescribeFlowLogsCommand } from "@aws-sdk/client-ec2";
import { GetRoleCommand, ListRolePoliciesCommand } from "@aws-sdk/client-iam";
import { type ChangeRecord, type ClientPool, logGroupArn, RUN_TAG_KEY } from "@flowlog-guard/core";

const ACCOUNT = "123456789012";

/** `action target` of each applied change record of a run: what the ledger says the run changed. */
export function appliedChanges(records: readonly ChangeRecord[], runId: string): string[] {
  return records
    .filter((record) => record.trigger.runId === runId && record.outcome === "applied")
    .map((record) => `${record.action} ${record.target.id}`)
    .sort();
}

/**
 * What a run really changed, read back from the API by its `flowlog-guard:run-id` tag, in the same
 * `action target` form: the delivery role it created (and its inline policy), the log groups it
 * created (and their retention), the flow logs it created.
 */
export async function changesMadeByRun(
  pool: ClientPool,
  region: string,
  runId: string,
  roleName = "flowlog-guard-delivery",
): Promise<string[]> {
  const clients = pool.clientsFor(region);
  const changes: string[] = [];
  const role = await clients.iam.send(new GetRoleCommand({ RoleName: roleName })).catch(() => undefined);
  if (role?.Role?.Tags?.some((tag) => tag.Key === RUN_TAG_KEY && tag.Value === runId)) {
    changes.push(`create-role ${roleName}`);
    const inline = await clients.iam.send(new ListRolePoliciesCommand({ RoleName: roleName }));
    if ((inline.PolicyNames ?? []).length > 0) changes.push(`put-role-policy ${roleName}`);
  }
  const groups: LogGroup[] = (await clients.logs.send(new DescribeLogGroupsCommand({}))).logGroups ?? [];
  for (const group of groups) {
    const name = group.logGroupName!;
    const arn = logGroupArn("aws", region, ACCOUNT, name);
    const { tags } = await clients.logs.send(new ListTagsForResourceCommand({ resourceArn: arn }));
    if (tags?.[RUN_TAG_KEY] !== runId) continue;
    changes.push(`create-log-group ${name}`);
    if (group.retentionInDays !== undefined) changes.push(`put-retention-policy ${name}`);
  }
  const flowLogs = (await clients.ec2.send(new DescribeFlowLogsCommand({}))).FlowLogs ?? [];
  for (const flowLog of flowLogs) {
    if (flowLog.Tags?.some((tag) => tag.Key === RUN_TAG_KEY && tag.Value === runId))
      changes.push(`create-flow-log ${flowLog.FlowLogId}`);
  }
  return changes.sort();
}
