import type { Action } from "../plan.ts";
import type { ChangeSite } from "./run-state.ts";

/** A CreateFlowLogs action, to CloudWatch Logs or to S3. */
export type FlowLogAction = Extract<Action, { kind: "create-flow-log" | "create-s3-flow-log" }>;

/**
 * What one flow log of an action is attached to: a VPC (`resourceId` is the VPC id), or in Subnet
 * mode a subnet (`resourceId` is the subnet id, `vpcId` its VPC). Outcomes are kept per resource id.
 */
export interface FlowLogTarget {
  resourceId: string;
  vpcId: string;
  subnetId?: string | undefined;
}

/** The `ResourceType` of the action's CreateFlowLogs call. */
export function resourceTypeOf(action: FlowLogAction): "VPC" | "Subnet" {
  return action.subnets ? "Subnet" : "VPC";
}

/** Each flow log the action creates: per VPC, or per subnet (with its VPC). */
export function targetsOf(action: FlowLogAction): FlowLogTarget[] {
  if (action.subnets) {
    return action.subnets.map(({ subnetId, vpcId }) => ({ resourceId: subnetId, vpcId, subnetId }));
  }
  return action.vpcIds.map((vpcId) => ({ resourceId: vpcId, vpcId }));
}

/** The ids CreateFlowLogs gets as `ResourceIds`, and that the action's outcomes are kept by. */
export function resourceIdsOf(action: FlowLogAction): string[] {
  return targetsOf(action).map((target) => target.resourceId);
}

/** The action narrowed to some of its resources (a further pass retries only those). */
export function narrowFlowLogAction<A extends FlowLogAction>(action: A, resourceIds: readonly string[]): A {
  const keep = new Set(resourceIds);
  if (!action.subnets) return { ...action, vpcIds: action.vpcIds.filter((id) => keep.has(id)) };
  const subnets = action.subnets.filter((subnet) => keep.has(subnet.subnetId));
  return { ...action, subnets, vpcIds: [...new Set(subnets.map((subnet) => subnet.vpcId))] };
}

/** Where a target's change is recorded: its VPC, and its subnet in Subnet mode. */
export function siteOf(
  action: FlowLogAction,
  target: FlowLogTarget,
  targetId: string,
): ChangeSite & { vpcId: string } {
  return {
    region: action.region,
    vpcId: target.vpcId,
    ...(target.subnetId ? { subnetId: target.subnetId } : {}),
    target: { type: "flow-log", id: targetId },
  };
}

/** What a subnet flow log's change record adds to its `after`: that it is attached to the subnet. */
export function subnetFields(target: FlowLogTarget): { resourceType: "Subnet"; subnetId: string } | object {
  return target.subnetId ? { resourceType: "Subnet", subnetId: target.subnetId } : {};
}
