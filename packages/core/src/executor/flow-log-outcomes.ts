import type { Tag, UnsuccessfulItem } from "@aws-sdk/client-ec2";
import { createdByRun } from "../naming.ts";

/**
 * Pure classification of what CreateFlowLogs and the read-back say about each VPC. No I/O: the
 * flow-log handler makes the calls and hands their results here (unit-tested branch by branch).
 */

const ALREADY_EXISTS = /FlowLogAlreadyExists|already exists|existing flow log/i;
const IAM_PROPAGATION = /unable to assume given iam role/i;
/** Per-VPC error codes in `Unsuccessful` that say "try again", not "no". */
const RETRYABLE_CODE = /Throttl|RequestLimitExceeded|ServiceUnavailable|InternalError|Unavailable/i;

/** True for the refusal EC2 sends while a new delivery role propagates: worth retrying. */
export function isIamPropagationError(message: string): boolean {
  return IAM_PROPAGATION.test(message);
}

/** What one CreateFlowLogs call returned: its response, or the error it threw (described). */
export type CreateFlowLogsReply =
  | { kind: "response"; flowLogIds: readonly string[]; unsuccessful: readonly UnsuccessfulItem[] }
  | { kind: "error"; message: string; retryable?: boolean | undefined };

/** What a CreateFlowLogs call says about each VPC of its batch, before anything is read back. */
export type BatchClassification =
  /** "Already exists" thrown for a call of several VPCs: it does not say which; call again VPC by VPC. */
  | { kind: "split" }
  | {
      kind: "classified";
      /** VPC id -> AWS's error for it. */
      failed: Map<string, string>;
      /** VPCs whose failure a later pass may fix (throttling, 5xx, a dropped connection). */
      retryable: ReadonlySet<string>;
      /** VPCs that already have this flow log (nothing to do; their flow log ids are looked up). */
      existing: string[];
      /** Flow log ids the call created. */
      created: string[];
      /** VPCs the call did not refuse: one of `created` is theirs (the response does not say which). */
      awaitingPairing: string[];
    };

/**
 * Classifies a CreateFlowLogs reply for `vpcIds`. Partial failures come back in `Unsuccessful`, and
 * "already exists" is not a failure. A thrown error fails the whole batch, except "already exists"
 * (EC2 throws it for the whole call when one VPC has the flow log).
 */
export function classifyCreateFlowLogs(
  vpcIds: readonly string[],
  reply: CreateFlowLogsReply,
): BatchClassification {
  if (reply.kind === "error") {
    if (!ALREADY_EXISTS.test(reply.message)) {
      return {
        kind: "classified",
        failed: new Map(vpcIds.map((vpcId) => [vpcId, reply.message])),
        retryable: new Set(reply.retryable ? vpcIds : []),
        existing: [],
        created: [],
        awaitingPairing: [],
      };
    }
    if (vpcIds.length > 1) return { kind: "split" };
    return {
      kind: "classified",
      failed: new Map(),
      retryable: new Set(),
      existing: [...vpcIds],
      created: [],
      awaitingPairing: [],
    };
  }
  const failed = new Map<string, string>();
  const retryable = new Set<string>();
  const existing: string[] = [];
  for (const item of reply.unsuccessful) {
    const vpcId = item.ResourceId ?? "";
    const error = `${item.Error?.Code ?? ""}: ${item.Error?.Message ?? ""}`;
    if (ALREADY_EXISTS.test(error)) existing.push(vpcId);
    else failed.set(vpcId, error);
    if (RETRYABLE_CODE.test(item.Error?.Code ?? "") || isIamPropagationError(error)) retryable.add(vpcId);
  }
  const answered = new Set([...failed.keys(), ...existing]);
  return {
    kind: "classified",
    failed,
    retryable,
    existing,
    created: [...reply.flowLogIds],
    awaitingPairing: vpcIds.filter((vpcId) => !answered.has(vpcId)),
  };
}

/**
 * The pairing of created flow logs to VPCs when it needs no read: one VPC, one id. Undefined when the
 * ids must be read back to find their VPCs.
 */
export function pairWithoutReading(batch: Extract<BatchClassification, { kind: "classified" }>) {
  const [vpcId] = batch.awaitingPairing;
  const [flowLogId] = batch.created;
  if (batch.awaitingPairing.length === 1 && batch.created.length === 1 && vpcId && flowLogId) {
    return new Map([[vpcId, flowLogId]]);
  }
  return batch.created.length === 0 ? new Map<string, string>() : undefined;
}

/** A VPC's state after its CreateFlowLogs call, before the region's read-back. */
export type BatchVerdict =
  | { kind: "created"; flowLogId: string }
  /** `ours`: created by this run (its response was lost and the retry met it): a change to record. */
  | { kind: "exists"; flowLogId: string | undefined; ours?: boolean | undefined }
  | { kind: "failed"; error: string; retryable?: boolean | undefined };

/**
 * Each VPC's verdict, given the flow log ids found for the VPCs that had one already (`existingIds`)
 * and the VPC of each created flow log (`createdIds`). A VPC the call did not refuse but for which no
 * created flow log is found failed: AWS reported success we cannot see.
 */
export function verdictsOf(
  vpcIds: readonly string[],
  batch: Extract<BatchClassification, { kind: "classified" }>,
  existingIds: ReadonlyMap<string, ExistingFlowLog>,
  createdIds: ReadonlyMap<string, string>,
): Map<string, BatchVerdict> {
  const verdicts = new Map<string, BatchVerdict>();
  const existing = new Set(batch.existing);
  for (const vpcId of vpcIds) {
    const error = batch.failed.get(vpcId);
    const created = createdIds.get(vpcId);
    if (error !== undefined) {
      verdicts.set(vpcId, { kind: "failed", error, retryable: batch.retryable.has(vpcId) });
    } else if (existing.has(vpcId)) {
      const found = existingIds.get(vpcId);
      verdicts.set(
        vpcId,
        found?.otherTraffic
          ? { kind: "failed", error: heldDestination(found.flowLogId, found.otherTraffic) }
          : { kind: "exists", flowLogId: found?.flowLogId, ours: found?.ours },
      );
    } else if (created) verdicts.set(vpcId, { kind: "created", flowLogId: created });
    else {
      verdicts.set(vpcId, {
        kind: "failed",
        error: "CreateFlowLogs reported success but no flow log for this VPC was found",
      });
    }
  }
  return verdicts;
}

/** A flow log AWS said already exists: its id, and whether this run created it (its run tag). */
export interface ExistingFlowLog {
  flowLogId: string;
  ours: boolean;
  /**
   * Set when the flow log holding the destination captures another traffic type than the one asked
   * (a REJECT flow log where the policy now asks ALL): EC2 refused the new one, so nothing covers it.
   */
  otherTraffic?: string;
}

/**
 * Why a VPC cannot get the policy's flow log: EC2 refused it as already existing because the VPC's
 * flow log `flowLogId` (capturing `traffic`) holds that destination. flowlog-guard deletes no flow log.
 */
export function heldDestination(flowLogId: string, traffic: string): string {
  return (
    `EC2 refuses a second flow log into this destination: ${flowLogId} (${traffic} traffic) holds it. ` +
    "flowlog-guard deletes no flow log: delete that one, or send the policy's flow logs elsewhere " +
    "(logGroupName or logDestination), then run again"
  );
}

/** What the region's read-back of the flow logs it created returned. */
export type ReadBack =
  | { kind: "read"; found: ReadonlySet<string> }
  | { kind: "failed"; error: string; retryable?: boolean | undefined };

/**
 * The final outcome of a created flow log. Only a flow log that is read back from the API counts as
 * applied; one that is not found, or whose read-back failed, is failed (its id is kept, and the next
 * run sees it if it does exist), so the change record and the report never claim what was not seen.
 */
export function classifyReadBack(
  flowLogId: string,
  readBack: ReadBack,
): { status: "applied" } | { status: "failed"; error: string; retryable?: boolean | undefined } {
  if (readBack.kind === "failed") {
    return {
      status: "failed",
      error: `flow log ${flowLogId} was created but could not be read back: ${readBack.error}`,
      retryable: readBack.retryable,
    };
  }
  if (readBack.found.has(flowLogId)) return { status: "applied" };
  return { status: "failed", error: `flow log ${flowLogId} was created but could not be read back` };
}

/**
 * VPC id -> the flow log that holds a destination EC2 said is taken: the one with the asked traffic
 * type when there is one (and whether this run made it), else the other one, marked `otherTraffic`.
 */
export function existingByVpc(
  found: readonly { vpcId: string; flowLogId: string; trafficType: string | undefined; tags: Tag[] }[],
  trafficType: string,
  runId: string,
): Map<string, ExistingFlowLog> {
  const byVpc = new Map<string, ExistingFlowLog>();
  for (const { vpcId, flowLogId, trafficType: traffic, tags } of found) {
    if (traffic === trafficType) byVpc.set(vpcId, { flowLogId, ours: createdByRun(tags, runId) });
    else if (!byVpc.has(vpcId))
      byVpc.set(vpcId, { flowLogId, ours: false, otherTraffic: traffic ?? "unknown" });
  }
  return byVpc;
}
