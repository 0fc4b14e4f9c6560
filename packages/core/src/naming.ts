import { createHash } from "node:crypto";
import { DELIVERY_ROLE_PATH } from "./config.ts";

/** Tag flowlog-guard puts on everything it creates; how it tells its own flow logs from others. */
export const MANAGED_TAG = { key: "flowlog-guard:managed", value: "true" } as const;

/**
 * The run that created a resource. When a create's response is lost and its retry meets "already
 * exists", this tag tells a change this run made (recorded) from a resource that was there before.
 */
export const RUN_TAG_KEY = "flowlog-guard:run-id";

/** The tags flowlog-guard puts on everything it creates. */
export function creationTags(runId: string): { Key: string; Value: string }[] {
  return [
    { Key: MANAGED_TAG.key, Value: MANAGED_TAG.value },
    { Key: RUN_TAG_KEY, Value: runId },
  ];
}

/** True when tags carry this run's id. */
export function createdByRun(
  tags: readonly { Key?: string | undefined; Value?: string | undefined }[] | undefined,
  runId: string,
): boolean {
  return (tags ?? []).some((tag) => tag.Key === RUN_TAG_KEY && tag.Value === runId);
}

/** Description of the delivery role, whether a run or the member template creates it. */
export const DELIVERY_ROLE_DESCRIPTION =
  "Lets VPC Flow Logs deliver to CloudWatch Logs. Managed by flowlog-guard.";

/** Name of the inline policy on the delivery role. */
export const DELIVERY_POLICY_NAME = "flowlog-guard-delivery";

export function deliveryRoleArn(partition: string, accountId: string, roleName: string): string {
  return `arn:${partition}:iam::${accountId}:role${DELIVERY_ROLE_PATH}${roleName}`;
}

export function logGroupArn(partition: string, region: string, accountId: string, name: string): string {
  return `arn:${partition}:logs:${region}:${accountId}:log-group:${name}`;
}

/**
 * The CreateFlowLogs ClientToken for one request of one run: the same on every retry of that request
 * (the SDK does not fill one in for CreateFlowLogs, so its automatic retries would not otherwise be
 * idempotent), and different between runs. Two runs racing on a VPC are kept to one flow log by EC2
 * itself, which refuses a second flow log with the same resource, traffic type and destination
 * (FlowLogAlreadyExists): the loser records nothing. A token shared across runs would instead make
 * both "succeed" with the same flow log, and both would record the change.
 */
export function flowLogClientToken(runId: string, parts: readonly (string | number | undefined)[]): string {
  return createHash("sha256")
    .update([runId, ...parts.map((part) => part ?? "")].join("|"))
    .digest("hex")
    .slice(0, 64);
}
