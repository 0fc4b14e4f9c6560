/**
 * The fields a custom VPC flow log format may name, as AWS documents them ("Flow log records",
 * Available fields, versions 2 to 8: https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html).
 * CreateFlowLogs refuses any other `${field}`; checking here turns that refusal into a settings error.
 */
export const FLOW_LOG_FIELDS = [
  // version 2 (the default format)
  "version",
  "account-id",
  "interface-id",
  "srcaddr",
  "dstaddr",
  "srcport",
  "dstport",
  "protocol",
  "packets",
  "bytes",
  "start",
  "end",
  "action",
  "log-status",
  // version 3
  "vpc-id",
  "subnet-id",
  "instance-id",
  "tcp-flags",
  "type",
  "pkt-srcaddr",
  "pkt-dstaddr",
  // version 4
  "region",
  "az-id",
  "sublocation-type",
  "sublocation-id",
  // version 5
  "pkt-src-aws-service",
  "pkt-dst-aws-service",
  "flow-direction",
  "traffic-path",
  // version 7
  "ecs-cluster-arn",
  "ecs-cluster-name",
  "ecs-container-instance-arn",
  "ecs-container-instance-id",
  "ecs-container-id",
  "ecs-second-container-id",
  "ecs-service-name",
  "ecs-task-definition-arn",
  "ecs-task-arn",
  "ecs-task-id",
  // version 8
  "reject-reason",
  "resource-id",
  "encryption-status",
] as const;

/** Fields of a `${a} ${b}` format that AWS does not know. */
export function unknownFlowLogFields(format: string): string[] {
  const known = new Set<string>(FLOW_LOG_FIELDS);
  return [...format.matchAll(/\$\{([^}]*)\}/g)]
    .map((match) => match[1]!)
    .filter((field) => !known.has(field));
}
