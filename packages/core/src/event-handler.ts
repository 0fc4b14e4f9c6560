import { randomUUID } from "node:crypto";
import type { AccountPools } from "./account-pools.ts";
import type { ClientPool } from "./aws-clients.ts";
import type { Logger } from "./change-records.ts";
import {
  actorArnOf,
  type CloudTrailActor,
  type EventTarget,
  type ParsedCloudTrailEvent,
  parseCloudTrailEvent,
} from "./cloudtrail.ts";
import type { Policy } from "./config.ts";
import { runRemediation } from "./engine.ts";
import { EventValidationError } from "./errors.ts";
import { DELAYED_EVENT_NAMES } from "./event-patterns.ts";
import { type AccountIdentity, readAccountIdentity } from "./inventory.ts";
import { LedgerPublisher } from "./ledger-publisher.ts";
import { vpcOfLogGroup } from "./log-group-template.ts";
import type { Membership } from "./organizations.ts";
import type { RunReport } from "./report.ts";
import { realSleep, type Sleep } from "./retry.ts";
import { ledgerRegionOf } from "./service-policy.ts";

export interface EventHandlingResult {
  /** `handled`: the real state was re-read and fixed where needed; `ignored`: nothing to look at. */
  status: "handled" | "ignored";
  reason: string;
  event: {
    eventId: string;
    eventName: string;
    source: string;
    account: string;
    region: string;
    actorArn?: string;
  };
  report?: RunReport;
  /** Things the operator should know: a VPC the event names that does not exist, ... */
  warnings: string[];
}

/** Organization mode: events from member accounts are handled there, with the member role. */
export interface EventOrganization {
  pools: AccountPools;
  memberRoleName: string;
  membership: (accountId: string) => Promise<Membership>;
}

export interface EventHandlerDeps {
  policy: Policy;
  pool: ClientPool;
  /** Absent: single-account mode, events for other accounts are refused. */
  organization?: EventOrganization;
  /** Who this process is; read through STS when absent (cache it per Lambda container). */
  identity?: AccountIdentity;
  log?: Logger;
  /** `dry-run`: plan only, change nothing. Default: `fix`. */
  mode?: "fix" | "dry-run";
  now?: () => Date;
  sleep?: Sleep;
  iamPropagationTimeoutMs?: number;
  /**
   * The stop-before-the-limit guard (the Lambda's remaining time minus a margin, Ctrl-C): true once
   * no new change may start. Changes in flight finish, records are flushed, what was not started is
   * reported (as failed VPCs, so the event is kept for another try).
   */
  shouldStop?: () => boolean;
  /** The time limit (epoch ms): further passes and the IAM-propagation retry never wait past it. */
  deadline?: number;
}

/** The role name in `arn:aws:sts::1:assumed-role/NAME/session` or `arn:aws:iam::1:role/path/NAME`. */
function roleNameOf(arn: string | undefined): string | undefined {
  return (
    arn?.match(/:assumed-role\/([^/]+)\//)?.[1] ?? arn?.match(/:role\/(?:.*\/)?([^/]+)$/)?.[1] ?? undefined
  );
}

/** True when the call was made by the role this process runs as: flowlog-guard's own change. */
export function isOwnChange(actor: CloudTrailActor, identity: AccountIdentity): boolean {
  const ownRole = identity.callerArn.includes(":assumed-role/") ? roleNameOf(identity.callerArn) : undefined;
  if (!ownRole) return false;
  return roleNameOf(actor.arn) === ownRole || roleNameOf(actor.roleArn) === ownRole;
}

/**
 * Handles one CloudTrail event: parse it, decide what to re-check, re-read the real state through
 * the API, and fix what it needs. A forged or stale event can cause at most a re-check. Handling the
 * same event twice changes nothing the second time.
 *
 * @throws EventValidationError for an event that is malformed, not handled, failed, or for another
 *   account; no AWS call that changes anything has been made.
 */
export async function handleCloudTrailEvent(
  raw: unknown,
  deps: EventHandlerDeps,
): Promise<EventHandlingResult> {
  const event = parseCloudTrailEvent(raw);
  const own = deps.identity ?? (await readAccountIdentity(deps.pool.clientsFor(event.region)));
  const { identity, pool } = await accountOfEvent(event, own, deps);
  const actorArn = actorArnOf(event.actor);
  const summary = {
    eventId: event.eventId,
    eventName: event.eventName,
    source: event.source,
    account: event.account,
    region: event.region,
    ...(actorArn ? { actorArn } : {}),
  };
  const ignore = (reason: string): EventHandlingResult => {
    deps.log?.info("event ignored", { ...summary, reason });
    return { status: "ignored", reason, event: summary, warnings: [] };
  };
  if (isOwnChange(event.actor, identity)) return ignore("made by flowlog-guard itself");

  const scope = scopeOf(event, deps.policy, identity);
  if ("ignored" in scope) return ignore(scope.ignored);
  await waitOutCreateVpcGrace(event, deps);

  // A member's records go to the central ledger with the central credentials (the member role cannot),
  // as they are written.
  const member = pool !== deps.pool;
  const central = member ? centralLedger(deps, event.region) : undefined;
  const report = await runRemediation({
    policy: member ? { ...deps.policy, ledgerBus: undefined } : deps.policy,
    regions: scope.regions,
    homeRegion: event.region,
    identity,
    mode: deps.mode ?? "fix",
    trigger: {
      kind: "event",
      runId: randomUUID(),
      eventId: event.eventId,
      eventName: event.eventName,
      ...(actorArn ? { actorArn } : {}),
    },
    pool,
    ...(scope.vpcIds ? { vpcIds: scope.vpcIds } : {}),
    ...(scope.ensureRole ? { ensureRole: true } : {}),
    ...injectedRunOptions(deps),
    ...(central ? { onRecord: (record) => central.add(record) } : {}),
  }).finally(() => central?.flush());
  if (central) await reportCentralPublishing(report, central);
  const missing = (scope.vpcIds ?? []).filter((id) => !report.vpcs.some((vpc) => vpc.vpcId === id));
  const warnings = missing.map(
    (id) =>
      `${id} does not exist in ${event.account}/${event.region} (deleted since, or never created): nothing to check`,
  );
  return { status: "handled", reason: scope.why, event: summary, report, warnings };
}

/** What the caller injected into every run: logger, clock, waits, the time-limit guard. */
function injectedRunOptions(deps: EventHandlerDeps) {
  const { log, now, sleep, iamPropagationTimeoutMs, shouldStop, deadline } = deps;
  return {
    ...(log ? { log } : {}),
    ...(now ? { now } : {}),
    ...(sleep ? { sleep } : {}),
    ...(iamPropagationTimeoutMs !== undefined ? { iamPropagationTimeoutMs } : {}),
    ...(shouldStop ? { shouldStop } : {}),
    ...(deadline !== undefined ? { deadline } : {}),
  };
}

function centralLedger(deps: EventHandlerDeps, region: string): LedgerPublisher {
  const bus = deps.policy.ledgerBus;
  return new LedgerPublisher({
    clients: deps.pool.clientsFor(bus ? ledgerRegionOf(bus, region) : region),
    bus,
    log: deps.log,
    sleep: deps.sleep,
    retryUntil: deps.deadline,
  });
}

async function reportCentralPublishing(report: RunReport, central: LedgerPublisher): Promise<void> {
  const result = await central.close();
  report.summary.recordsPublished = result.published;
  report.summary.recordsUndelivered = result.undelivered.length;
  for (const undelivered of result.undelivered)
    report.errors.push({
      scope: "ledger",
      message: `change record ${undelivered.recordId} not delivered to ${result.bus}: ${undelivered.error}`,
    });
}

/**
 * The identity and clients to act with: this account's own for its events; in organization mode,
 * the member role's for a member's event, after checking that the account is an ACTIVE member in
 * scope and not excluded. Anything else is refused before any AWS change.
 */
async function accountOfEvent(
  event: ParsedCloudTrailEvent,
  own: AccountIdentity,
  deps: EventHandlerDeps,
): Promise<{ identity: AccountIdentity; pool: ClientPool }> {
  if (event.account === own.accountId) return { identity: own, pool: deps.pool };
  if (!deps.organization)
    throw new EventValidationError(
      `account: the event is for account ${event.account}, but flowlog-guard runs in ${own.accountId}; it only changes its own account`,
      "account",
    );
  const membership = await deps.organization.membership(event.account);
  if (!membership.member)
    throw new EventValidationError(
      `account: event refused, nothing changed: ${membership.reason}`,
      "account",
    );
  const roleName = deps.organization.memberRoleName;
  return {
    identity: {
      accountId: event.account,
      partition: own.partition,
      callerArn: `arn:${own.partition}:sts::${event.account}:assumed-role/${roleName}/flowlog-guard`,
    },
    pool: deps.organization.pools.poolFor(event.account),
  };
}

/**
 * A CreateVpc event is acted on no sooner than `createVpcGraceSeconds` after the call, so that
 * infrastructure as code that adds its own flow log seconds later is left alone (it is then
 * compliant when re-read). Deployed, the delay queue has already waited; a fresh event replayed by
 * hand waits out what is left of the window.
 */
export function createVpcGraceRemainingMs(
  event: Pick<ParsedCloudTrailEvent, "eventName" | "eventTime">,
  graceSeconds: number,
  now: Date,
): number {
  if (!DELAYED_EVENT_NAMES.includes(event.eventName) || graceSeconds <= 0) return 0;
  const called = Date.parse(event.eventTime);
  if (Number.isNaN(called)) return 0;
  return Math.max(0, Math.min(graceSeconds * 1000, called + graceSeconds * 1000 - now.getTime()));
}

async function waitOutCreateVpcGrace(event: ParsedCloudTrailEvent, deps: EventHandlerDeps): Promise<void> {
  const wait = createVpcGraceRemainingMs(
    event,
    deps.policy.createVpcGraceSeconds,
    (deps.now ?? (() => new Date()))(),
  );
  if (wait === 0) return;
  deps.log?.info("waiting out the CreateVpc grace period", { eventId: event.eventId, waitMs: wait });
  await (deps.sleep ?? realSleep)(wait);
}

/**
 * A new subnet: in Subnet mode its VPC is re-read (all its subnets, so the new one is covered unless
 * the VPC has a qualifying flow log); with `resourceType` VPC there is nothing to do for a subnet.
 */
function subnetScope(
  event: ParsedCloudTrailEvent,
  target: Extract<EventTarget, { scope: "subnets" }>,
  policy: Policy,
): Scope {
  const subnets = target.subnetIds.join(", ");
  if (policy.resourceType !== "Subnet") {
    return { ignored: `${subnets}: resourceType is VPC, where a subnet is covered by its VPC's flow log` };
  }
  const where = target.vpcIds.length > 0 ? ` in ${target.vpcIds.join(", ")}` : "";
  return {
    regions: [event.region],
    ...(target.vpcIds.length > 0 ? { vpcIds: target.vpcIds } : {}),
    why: `${event.eventName} of ${subnets}${where}`,
  };
}

type Scope =
  | { ignored: string }
  | { regions: string[]; vpcIds?: string[]; ensureRole?: boolean; why: string };

function scopeOf(event: ParsedCloudTrailEvent, policy: Policy, identity: AccountIdentity): Scope {
  const { target, region } = event;
  switch (target.scope) {
    case "none":
      return { ignored: target.reason };
    case "vpcs":
      return {
        regions: [region],
        vpcIds: target.vpcIds,
        why: `${event.eventName} on ${target.vpcIds.join(", ")}`,
      };
    case "subnets":
      return subnetScope(event, target, policy);
    case "region":
      // A deleted flow log can no longer be described: re-check every VPC of the region.
      return {
        regions: [region],
        why: `${event.eventName} of ${target.flowLogIds.join(", ")}: re-checked the region`,
      };
    case "log-group": {
      const vpc = vpcOfLogGroup(policy.logGroupName, target.logGroupName, {
        region,
        accountId: identity.accountId,
      });
      if (!vpc)
        return {
          ignored: `log group ${target.logGroupName} is not one the template ${policy.logGroupName} produces`,
        };
      if (vpc === "shared")
        return { regions: [region], why: `${event.eventName} on shared log group ${target.logGroupName}` };
      return {
        regions: [region],
        vpcIds: [vpc],
        why: `${event.eventName} on ${target.logGroupName} of ${vpc}`,
      };
    }
    case "role":
      if (target.roleName !== policy.roleName)
        return { ignored: `role ${target.roleName} is not the delivery role ${policy.roleName}` };
      return { regions: [], ensureRole: true, why: `${event.eventName} on delivery role ${target.roleName}` };
  }
}
