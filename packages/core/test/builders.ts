import type {
  AccountInventory,
  FlowLogFacts,
  LogGroupFacts,
  RegionInventory,
  VpcFacts,
} from "../src/model.ts";

/** Test builders with overrides, so each table row states only what matters to it. */

export const ACCOUNT = "111122223333";
export const REGION = "eu-west-1";

export function aVpc(overrides: Partial<VpcFacts> = {}): VpcFacts {
  return { vpcId: "vpc-0000000000000000a", isDefault: false, tags: {}, internetFacing: false, ...overrides };
}

export function aFlowLog(overrides: Partial<FlowLogFacts> = {}): FlowLogFacts {
  return {
    flowLogId: "fl-0000000000000000a",
    resourceId: "vpc-0000000000000000a",
    flowLogStatus: "ACTIVE",
    deliverLogsStatus: "SUCCESS",
    deliverLogsErrorMessage: undefined,
    trafficType: "REJECT",
    destinationType: "cloud-watch-logs",
    logGroupName: "/aws/vpc-flow-logs/vpc-0000000000000000a",
    logDestination: undefined,
    managed: false,
    ...overrides,
  };
}

export function aLogGroup(overrides: Partial<LogGroupFacts> = {}): LogGroupFacts {
  return {
    name: "/aws/vpc-flow-logs/vpc-0000000000000000a",
    retentionInDays: 365,
    kmsKeyId: undefined,
    ...overrides,
  };
}

export function aRegion(overrides: Partial<RegionInventory> = {}): RegionInventory {
  return { region: REGION, vpcs: [aVpc()], flowLogs: [], logGroups: [], ...overrides };
}

export function anInventory(overrides: Partial<AccountInventory> = {}): AccountInventory {
  return {
    accountId: ACCOUNT,
    partition: "aws",
    role: { exists: false },
    regions: [aRegion()],
    ...overrides,
  };
}
