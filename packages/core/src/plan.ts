import { z } from "zod";

const PolicyDocumentSchema = z.object({ Version: z.literal("2012-10-17"), Statement: z.array(z.any()) });

const base = { key: z.string(), reason: z.string() };

/** A subnet that gets a subnet-level flow log (Subnet mode), with its VPC. */
export const SubnetTargetSchema = z.object({ subnetId: z.string(), vpcId: z.string() });
export type SubnetTarget = z.infer<typeof SubnetTargetSchema>;

/**
 * Subnet mode: the 1 to 300 subnets this CreateFlowLogs call attaches flow logs to (ResourceType
 * Subnet), each with its VPC; `vpcIds` then lists those VPCs. Absent: the flow logs go on `vpcIds`.
 */
const subnets = z.array(SubnetTargetSchema).min(1).max(300).optional();

/** One change flowlog-guard will make. Actions are unique by `key` within a plan. */
export const ActionSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("create-role"),
    ...base,
    roleName: z.string(),
    path: z.string(),
    roleArn: z.string(),
    trustPolicy: PolicyDocumentSchema,
    /** The permissions boundary CreateRole passes (`rolePermissionsBoundary`); absent: none. */
    permissionsBoundaryArn: z.string().optional(),
  }),
  z.object({
    kind: z.literal("update-role-trust"),
    ...base,
    roleName: z.string(),
    roleArn: z.string(),
    before: PolicyDocumentSchema.nullable(),
    after: PolicyDocumentSchema,
  }),
  z.object({
    kind: z.literal("put-role-policy"),
    ...base,
    roleName: z.string(),
    roleArn: z.string(),
    policyName: z.string(),
    before: PolicyDocumentSchema.nullable(),
    after: PolicyDocumentSchema,
  }),
  z.object({
    kind: z.literal("detach-role-policy"),
    ...base,
    roleName: z.string(),
    roleArn: z.string(),
    /** The managed policy to detach from the delivery role (the policy itself is left untouched). */
    policyArn: z.string(),
  }),
  z.object({
    kind: z.literal("delete-role-permissions-boundary"),
    ...base,
    roleName: z.string(),
    roleArn: z.string(),
    /** The boundary seen when planning (the policy itself is left untouched). */
    boundaryArn: z.string(),
  }),
  z.object({
    kind: z.literal("put-role-permissions-boundary"),
    ...base,
    roleName: z.string(),
    roleArn: z.string(),
    /** The boundary seen when planning; null when the role had none. */
    before: z.string().nullable(),
    /** The boundary the delivery role must carry (`rolePermissionsBoundary`). */
    after: z.string(),
  }),
  z.object({
    kind: z.literal("create-log-group"),
    ...base,
    region: z.string(),
    logGroupName: z.string(),
    kmsKeyArn: z.string().optional(),
    vpcIds: z.array(z.string()),
  }),
  z.object({
    kind: z.literal("put-retention-policy"),
    ...base,
    region: z.string(),
    logGroupName: z.string(),
    retentionDays: z.number().int(),
    /**
     * Retention seen when planning; null when the group does not exist yet, or (with `newGroup`
     * false) when a group flowlog-guard manages never expires its events and is younger than
     * `retentionDays` (an interrupted run left it so; setting the retention loses no event).
     */
    before: z.number().int().nullable(),
    /** The group is created by this plan, so it has no retention yet and setting one lowers nothing. */
    newGroup: z.boolean(),
    vpcIds: z.array(z.string()),
  }),
  z.object({
    kind: z.literal("associate-kms-key"),
    ...base,
    region: z.string(),
    logGroupName: z.string(),
    /** The region's key (kmsKeyArn), which a group flowlog-guard manages must keep. */
    kmsKeyArn: z.string(),
    /** The group's key seen when planning; null when it had none (DisassociateKmsKey). */
    before: z.string().nullable(),
    vpcIds: z.array(z.string()),
  }),
  z.object({
    kind: z.literal("create-flow-log"),
    ...base,
    region: z.string(),
    /** 1 to 300 VPCs that share the log group (one CreateFlowLogs call). */
    vpcIds: z.array(z.string()).min(1).max(300),
    logGroupName: z.string(),
    roleArn: z.string(),
    trafficType: z.enum(["REJECT", "ALL"]),
    maxAggregationInterval: z.union([z.literal(60), z.literal(600)]),
    logFormat: z.string().optional(),
    subnets,
  }),
  z.object({
    kind: z.literal("create-s3-flow-log"),
    ...base,
    region: z.string(),
    /** 1 to 300 VPCs of one region: they share the destination, so one CreateFlowLogs call. */
    vpcIds: z.array(z.string()).min(1).max(300),
    /** `arn:aws:s3:::BUCKET[/PREFIX]`; no role and no log group. */
    logDestination: z.string(),
    fileFormat: z.enum(["plain-text", "parquet"]),
    hiveCompatiblePartitions: z.boolean(),
    perHourPartition: z.boolean(),
    trafficType: z.enum(["REJECT", "ALL"]),
    maxAggregationInterval: z.union([z.literal(60), z.literal(600)]),
    logFormat: z.string().optional(),
    subnets,
  }),
]);
export type Action = z.infer<typeof ActionSchema>;

/** The key of the action that gives a region's managed log group its KMS key back. */
export function kmsKeyActionKey(region: string, logGroupName: string): string {
  return `kms-key:${region}:${logGroupName}`;
}
export type ActionKind = Action["kind"];

export const ExceptionVerdictSchema = z.union([
  z.object({
    state: z.literal("valid"),
    owner: z.string(),
    expires: z.string(),
    reason: z.string().optional(),
  }),
  z.object({
    state: z.literal("expired"),
    owner: z.string(),
    expires: z.string(),
    reason: z.string().optional(),
    expiredAt: z.string(),
  }),
  z.object({
    state: z.literal("invalid"),
    owner: z.string().optional(),
    expires: z.string().optional(),
    reason: z.string().optional(),
    problems: z.array(z.string()),
  }),
]);

/** A subnet of a VPC in Subnet mode: judged on its own, covered by its own flow log or its VPC's. */
export const SubnetPlanSchema = z.object({
  subnetId: z.string(),
  /** The subnet's Name tag. */
  name: z.string().optional(),
  status: z.enum(["compliant", "non-compliant", "exempt", "not-owned"]),
  reason: z.string(),
  exception: ExceptionVerdictSchema.nullable(),
  /** Flow logs that cover the subnet: its own, or its VPC's. */
  flowLogIds: z.array(z.string()),
  /** Keys of the plan's actions this subnet needs (its flow log, and the log group that takes it). */
  actionKeys: z.array(z.string()),
});
export type SubnetPlan = z.infer<typeof SubnetPlanSchema>;

export const VpcPlanSchema = z.object({
  account: z.string(),
  region: z.string(),
  vpcId: z.string(),
  isDefault: z.boolean(),
  internetFacing: z.boolean(),
  production: z.boolean(),
  /** not-owned: another account owns the VPC (AWS RAM sharing); never acted on here. */
  status: z.enum(["compliant", "non-compliant", "exempt", "not-owned"]),
  /** Why the VPC has this status, in words an operator can act on. */
  reason: z.string(),
  exception: ExceptionVerdictSchema.nullable(),
  /** Flow logs that already make (or, once repaired, will make) the VPC compliant. */
  flowLogIds: z.array(z.string()),
  /** Keys of the plan's actions this VPC needs, in order. */
  actionKeys: z.array(z.string()),
  /** The VPC's Name tag. */
  name: z.string().optional(),
  /** Log group (or destination ARN) of the flow log that makes the VPC compliant, or of the one planned. */
  destination: z.string().optional(),
  /** That log group's retention; absent when it never expires events or is not a log group. */
  retentionDays: z.number().optional(),
  /** Subnet mode only: the VPC's subnets. */
  subnets: z.array(SubnetPlanSchema).optional(),
});
export type VpcPlan = z.infer<typeof VpcPlanSchema>;

/** What the planner decides for one account: every VPC with its status, and the ordered, unique actions. */
export const PlanSchema = z.object({
  account: z.string(),
  partition: z.string(),
  generatedAt: z.string(),
  vpcs: z.array(VpcPlanSchema),
  /** In dependency order: role, then log groups, then retention, then flow logs (CloudWatch Logs or S3). */
  actions: z.array(ActionSchema),
});
export type Plan = z.infer<typeof PlanSchema>;
