import type { PolicyDocument } from "./policy-documents.ts";

/** What the planner needs to know about a VPC; reduced from DescribeVpcs so memory stays small. */
export interface VpcFacts {
  vpcId: string;
  isDefault: boolean;
  tags: Record<string, string>;
  /** An internet gateway is attached: such VPCs are remediated first. */
  internetFacing: boolean;
  /**
   * The account that owns the VPC (DescribeVpcs `OwnerId`). A VPC shared through AWS RAM shows in a
   * participant's DescribeVpcs with the owner's id; only the owner can see or create its flow logs.
   * Undefined when DescribeVpcs gave none: treated as owned by the account being remediated.
   */
  ownerId?: string;
}

/**
 * A subnet, reduced from DescribeSubnets (read only when `resourceType` is `Subnet`): its VPC, and its
 * tags (the exception tags work on a subnet as on a VPC).
 */
export interface SubnetFacts {
  subnetId: string;
  vpcId: string;
  tags: Record<string, string>;
}

/** A VPC-level (or, in Subnet mode, subnet-level) flow log, reduced from DescribeFlowLogs. */
export interface FlowLogFacts {
  flowLogId: string;
  resourceId: string;
  flowLogStatus: string | undefined;
  deliverLogsStatus: string | undefined;
  deliverLogsErrorMessage: string | undefined;
  trafficType: string | undefined;
  destinationType: string | undefined;
  logGroupName: string | undefined;
  logDestination: string | undefined;
  /** Tagged `flowlog-guard:managed=true`: flowlog-guard created it. */
  managed: boolean;
}

export interface LogGroupFacts {
  name: string;
  /** Undefined: the group never expires its events. */
  retentionInDays: number | undefined;
  kmsKeyId: string | undefined;
  /** When the group was created, in milliseconds since the epoch. */
  creationTime?: number;
  /** The group's ARN, without the `:*` DescribeLogGroups appends. */
  arn?: string;
  /**
   * Tagged `flowlog-guard:managed=true`. Read only where it changes a decision (a group that never
   * expires its events, or one not on its region's configured KMS key); undefined when not read.
   */
  managed?: boolean;
}

export interface RoleFacts {
  exists: boolean;
  arn?: string;
  trustPolicy?: PolicyDocument;
  /** The inline delivery policy, when present. */
  permissionsPolicy?: PolicyDocument;
  /** ARNs of managed policies attached to the role (declared state: none); undefined when not read. */
  attachedPolicyArns?: string[];
  /** ARN of the role's permissions boundary (declared state: none, or `rolePermissionsBoundary`). */
  permissionsBoundaryArn?: string;
}

export interface RegionInventory {
  region: string;
  vpcs: VpcFacts[];
  /**
   * VPC-level flow logs (resource ids starting `vpc-`), and in Subnet mode subnet-level ones too
   * (`subnet-`); `resourceId` tells them apart.
   */
  flowLogs: FlowLogFacts[];
  /** The region's subnets (of the VPCs read): only when the policy's `resourceType` is `Subnet`. */
  subnets?: SubnetFacts[];
  /** Log groups whose names the policy's template can produce (by prefix). */
  logGroups: LogGroupFacts[];
}

/** Everything the planner reads, for one account. */
export interface AccountInventory {
  accountId: string;
  partition: string;
  role: RoleFacts;
  regions: RegionInventory[];
}
