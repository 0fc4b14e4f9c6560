import { z } from "zod";
import { EventValidationError } from "./errors.ts";
import { CLOUDTRAIL_DETAIL_TYPE, HANDLED_EVENTS, type HandledSource } from "./event-patterns.ts";
import { EXCEPTION_TAGS } from "./exceptions.ts";
import { REGION_NAME_PATTERN } from "./regions.ts";

/** Who made the call, as far as CloudTrail says; every field may be missing. */
export interface CloudTrailActor {
  type?: string;
  /** The caller's ARN (an assumed-role session ARN for roles). */
  arn?: string;
  /** For assumed roles: the role's own ARN (sessionContext.sessionIssuer.arn). */
  roleArn?: string;
  /** A service acting for the caller (cloudformation.amazonaws.com, ...). */
  invokedBy?: string;
  accountId?: string;
}

/** What the event asks flowlog-guard to look at again. The event is a hint, never the state. */
export type EventTarget =
  | { scope: "vpcs"; vpcIds: string[] }
  /** New subnets; `vpcIds` their VPCs (empty when the event does not say: the region is re-read). */
  | { scope: "subnets"; subnetIds: string[]; vpcIds: string[] }
  | { scope: "region"; flowLogIds: string[] }
  | { scope: "log-group"; logGroupName: string }
  | { scope: "role"; roleName: string }
  | { scope: "none"; reason: string };

export interface ParsedCloudTrailEvent {
  /** CloudTrail's `eventID`: the same for every delivery of the same call. */
  eventId: string;
  eventName: string;
  source: HandledSource;
  account: string;
  region: string;
  eventTime: string;
  actor: CloudTrailActor;
  target: EventTarget;
}

const ACCOUNT = /^\d{12}$/;
const VPC_ID = /^vpc-[0-9a-f]{8,32}$/;
const SUBNET_ID = /^subnet-[0-9a-f]{8,32}$/;
const FLOW_LOG_ID = /^fl-[0-9a-f]{8,32}$/;
const EXCEPTION_TAG_PREFIX = "flowlog-guard:exception-";

const EnvelopeSchema = z.looseObject({
  id: z.string().min(1),
  "detail-type": z.literal(CLOUDTRAIL_DETAIL_TYPE),
  source: z.enum(Object.keys(HANDLED_EVENTS) as [HandledSource, ...HandledSource[]]),
  account: z.string().regex(ACCOUNT, "a 12-digit account id"),
  region: z.string().regex(REGION_NAME_PATTERN, "an AWS region such as eu-west-1"),
  time: z.string().optional(),
  detail: z.looseObject({
    eventID: z.string().min(1),
    eventName: z.string().min(1),
    eventSource: z.string().min(1),
    awsRegion: z.string().min(1),
    eventTime: z.string().optional(),
    errorCode: z.unknown().optional(),
    recipientAccountId: z.string().optional(),
    userIdentity: z.unknown().optional(),
    requestParameters: z.unknown().optional(),
    responseElements: z.unknown().optional(),
  }),
});

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * CloudTrail writes a list as an array, a single object, `{ items: [...] }`, `{ item: ... }`, or,
 * when empty, `{}` or `""`. Returns a plain array in every case.
 */
export function asList(value: unknown): unknown[] {
  if (value === undefined || value === null || value === "") return [];
  if (Array.isArray(value)) return value;
  if (isObject(value)) {
    if ("items" in value) return asList(value.items);
    if ("item" in value) return asList(value.item);
    return Object.keys(value).length === 0 ? [] : [value];
  }
  return [value];
}

/** A repeated EC2 query parameter: `"x"` or `{ "content": "x", "tag": 1 }`. */
function contentOf(value: unknown): unknown {
  return isObject(value) && "content" in value ? value.content : value;
}

/** The `<Operation>Request` wrapper of EC2's newer CloudTrail dialect (names can be abbreviated). */
function wrappedRequest(requestParameters: Json, eventName: string): Json | undefined {
  const exact = requestParameters[`${eventName}Request`];
  if (isObject(exact)) return exact;
  const wrappers = Object.entries(requestParameters).filter(
    ([key, value]) => /Req(uest)?$/.test(key) && isObject(value),
  );
  return wrappers.length === 1 ? (wrappers[0]![1] as Json) : undefined;
}

function fail(field: string, message: string): never {
  throw new EventValidationError(`${field}: ${message}`, field);
}

function readActor(userIdentity: unknown): CloudTrailActor {
  if (!isObject(userIdentity)) return {};
  const issuer = isObject(userIdentity.sessionContext)
    ? userIdentity.sessionContext.sessionIssuer
    : undefined;
  const text = (value: unknown) => (typeof value === "string" && value !== "" ? value : undefined);
  const actor: CloudTrailActor = {};
  const type = text(userIdentity.type);
  const arn = text(userIdentity.arn);
  const roleArn = isObject(issuer) ? text(issuer.arn) : undefined;
  const invokedBy = text(userIdentity.invokedBy);
  const accountId = text(userIdentity.accountId);
  if (type) actor.type = type;
  if (arn) actor.arn = arn;
  if (roleArn) actor.roleArn = roleArn;
  if (invokedBy) actor.invokedBy = invokedBy;
  if (accountId) actor.accountId = accountId;
  return actor;
}

/** The best single ARN for "who did it" in a change record. */
export function actorArnOf(actor: CloudTrailActor): string | undefined {
  return actor.arn ?? actor.roleArn ?? (actor.invokedBy ? `service:${actor.invokedBy}` : undefined);
}

/**
 * Parses an "AWS API Call via CloudTrail" event as EventBridge delivers it (or as a JSON string, as an
 * SQS or SNS body carries it) into what flowlog-guard must re-check. Tolerant where CloudTrail varies
 * (both EC2 dialects, missing optional fields, empty sets as `{}` or `""`), strict where it matters:
 * the envelope, the account, the region, the call being one we handle and having succeeded.
 *
 * @throws EventValidationError naming the offending field; nothing has been changed.
 */
export function parseCloudTrailEvent(input: unknown): ParsedCloudTrailEvent {
  let raw = input;
  if (typeof raw === "string") {
    try {
      raw = JSON.parse(raw);
    } catch {
      fail("(event)", "not JSON");
    }
  }
  const result = EnvelopeSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path.length > 0 ? issue.path.join(".") : "(event)";
    fail(
      field,
      `${issue.message}. flowlog-guard handles EventBridge "${CLOUDTRAIL_DETAIL_TYPE}" events from ${Object.keys(HANDLED_EVENTS).join(", ")}`,
    );
  }
  const envelope = result.data;
  const detail = envelope.detail;
  const handled = HANDLED_EVENTS[envelope.source];
  if (detail.eventSource !== handled.eventSource) {
    fail(
      "detail.eventSource",
      `${detail.eventSource} does not belong to source ${envelope.source} (expected ${handled.eventSource})`,
    );
  }
  if (!(handled.eventNames as readonly string[]).includes(detail.eventName)) {
    fail(
      "detail.eventName",
      `${detail.eventName} is not handled; handled for ${envelope.source}: ${handled.eventNames.join(", ")}`,
    );
  }
  if (detail.errorCode !== undefined && detail.errorCode !== null) {
    fail(
      "detail.errorCode",
      `the call failed (${String(detail.errorCode)}), so it changed nothing to remediate`,
    );
  }
  if (detail.awsRegion !== envelope.region) {
    fail("detail.awsRegion", `${detail.awsRegion} differs from the envelope's region ${envelope.region}`);
  }
  if (detail.recipientAccountId !== undefined && detail.recipientAccountId !== envelope.account) {
    fail(
      "detail.recipientAccountId",
      `${detail.recipientAccountId} differs from the envelope's account ${envelope.account}`,
    );
  }
  const request = isObject(detail.requestParameters) ? detail.requestParameters : {};
  const response = isObject(detail.responseElements) ? detail.responseElements : {};

  return {
    eventId: detail.eventID,
    eventName: detail.eventName,
    source: envelope.source,
    account: envelope.account,
    region: envelope.region,
    eventTime: detail.eventTime ?? envelope.time ?? "",
    actor: readActor(detail.userIdentity),
    target: readTarget(detail.eventName, request, response),
  };
}

/** A log-group event's group, by `requestParameters.logGroupName`. */
function logGroupTarget(request: Json): EventTarget {
  const name = request.logGroupName;
  if (typeof name !== "string" || name === "") fail("detail.requestParameters.logGroupName", "missing");
  return { scope: "log-group", logGroupName: name };
}

function readTarget(eventName: string, request: Json, response: Json): EventTarget {
  switch (eventName) {
    case "CreateSubnet":
    case "CreateDefaultSubnet":
      return readSubnetTarget(eventName, response);
    case "CreateVpc":
    case "CreateDefaultVpc":
      return readVpcTarget(eventName, response);
    case "DeleteFlowLogs": {
      const wrapped = wrappedRequest(request, eventName);
      const ids = asList(wrapped?.FlowLogId ?? request.flowLogIdSet ?? request.FlowLogId).map(contentOf);
      if (ids.length === 0)
        fail("detail.requestParameters.DeleteFlowLogsRequest.FlowLogId", "missing: no flow log ids");
      for (const id of ids) {
        if (typeof id !== "string" || !FLOW_LOG_ID.test(id)) {
          fail(
            "detail.requestParameters.DeleteFlowLogsRequest.FlowLogId",
            `${JSON.stringify(id)} is not a flow log id`,
          );
        }
      }
      return { scope: "region", flowLogIds: ids as string[] };
    }
    case "CreateTags":
    case "DeleteTags": {
      const resources = asList(request.resourcesSet).map((item) => (isObject(item) ? item.resourceId : item));
      if (resources.length === 0) fail("detail.requestParameters.resourcesSet", "missing: no resources");
      const vpcIds = resources.filter((id): id is string => typeof id === "string" && VPC_ID.test(id));
      const subnetIds = resources.filter((id): id is string => typeof id === "string" && SUBNET_ID.test(id));
      if (vpcIds.length === 0 && subnetIds.length === 0)
        return { scope: "none", reason: "no VPC or subnet among the tagged resources" };
      const keys = asList(request.tagSet).map((item) => (isObject(item) ? item.key : undefined));
      // DeleteTags without tags deletes all of them, exception tags included.
      const allTagsDeleted = eventName === "DeleteTags" && keys.length === 0;
      const touchesException = keys.some(
        (key) => typeof key === "string" && key.startsWith(EXCEPTION_TAG_PREFIX),
      );
      if (!allTagsDeleted && !touchesException) {
        return { scope: "none", reason: `no ${EXCEPTION_TAGS.owner.replace("owner", "*")} tag changed` };
      }
      // Subnets only (their exception tags count in Subnet mode): their VPCs are not named, so the
      // region is re-read; with resourceType VPC the handler ignores them.
      if (vpcIds.length === 0) return { scope: "subnets", subnetIds, vpcIds: [] };
      return { scope: "vpcs", vpcIds };
    }
    case "DeleteLogGroup":
    case "PutRetentionPolicy":
    case "DeleteRetentionPolicy":
    case "DisassociateKmsKey":
      return logGroupTarget(request);
    default: {
      const roleName = request.roleName;
      if (typeof roleName !== "string" || roleName === "")
        fail("detail.requestParameters.roleName", "missing");
      return { scope: "role", roleName };
    }
  }
}

/**
 * CreateSubnet / CreateDefaultSubnet: `responseElements.subnet.{subnetId, vpcId}` (classic dialect),
 * or the same inside `<Op>Response`. The subnet id is required; a missing VPC id re-reads the region.
 */
function readSubnetTarget(eventName: string, response: Json): EventTarget {
  const wrapper = response[`${eventName}Response`];
  const wrapped = isObject(wrapper) ? wrapper : response;
  const subnet = isObject(wrapped.subnet) ? wrapped.subnet : {};
  const field = "detail.responseElements.subnet";
  if (typeof subnet.subnetId !== "string")
    fail(`${field}.subnetId`, `missing: a successful ${eventName} names the new subnet`);
  if (!SUBNET_ID.test(subnet.subnetId))
    fail(`${field}.subnetId`, `${JSON.stringify(subnet.subnetId)} is not a subnet id`);
  const vpcId = subnet.vpcId;
  if (vpcId !== undefined && (typeof vpcId !== "string" || !VPC_ID.test(vpcId)))
    fail(`${field}.vpcId`, `${JSON.stringify(vpcId)} is not a VPC id`);
  return { scope: "subnets", subnetIds: [subnet.subnetId], vpcIds: vpcId ? [vpcId] : [] };
}

/** CreateVpc / CreateDefaultVpc: `responseElements.vpc.vpcId`, or the same inside `<Op>Response`. */
function readVpcTarget(eventName: string, response: Json): EventTarget {
  const wrapper = response[`${eventName}Response`];
  const wrapped = isObject(wrapper) ? wrapper : response;
  const vpcId = isObject(wrapped.vpc) ? wrapped.vpc.vpcId : undefined;
  if (typeof vpcId !== "string")
    fail("detail.responseElements.vpc.vpcId", `missing: a successful ${eventName} names the new VPC`);
  if (!VPC_ID.test(vpcId))
    fail("detail.responseElements.vpc.vpcId", `${JSON.stringify(vpcId)} is not a VPC id`);
  return { scope: "vpcs", vpcIds: [vpcId] };
}
