import { CreateLogGroupCommand, PutRetentionPolicyCommand } from "@aws-sdk/client-cloudwatch-logs";
import {
  CreateFlowLogsCommand,
  type DescribeFlowLogsRequest,
  paginateDescribeFlowLogs,
  type UnsuccessfulItem,
} from "@aws-sdk/client-ec2";
import {
  CreateRoleCommand,
  GetRoleCommand,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from "@aws-sdk/client-iam";
import type { AwsClients } from "./aws-clients.ts";
import {
  type ChangeRecord,
  type Logger,
  newChangeRecord,
  silentLogger,
  type Trigger,
} from "./change-records.ts";
import { awsErrorName, describeError } from "./errors.ts";
import { readInlinePolicy, readLogGroups } from "./inventory.ts";
import { flowLogClientToken, logGroupArn, MANAGED_TAG } from "./naming.ts";
import type { Action, Plan } from "./plan.ts";
import { type PolicyDocument, parsePolicyDocument, policyDocumentsEqual } from "./policy-documents.ts";
import { mapWithConcurrency, realSleep, retryWithBackoff, type Sleep } from "./retry.ts";

export interface ExecutorOptions {
  /** SDK clients for a region (built once per region by the caller). */
  clientsFor: (region: string) => AwsClients;
  /** Region whose clients make the account's IAM calls. */
  homeRegion: string;
  trigger: Trigger;
  now?: () => Date;
  sleep?: Sleep;
  /** How long to retry CreateFlowLogs while a new role propagates ("Unable to assume given IAM role"). */
  iamPropagationTimeoutMs?: number;
  /** Actions in flight at once, per region. */
  concurrency?: number;
  /** Checked before each action starts; true skips the rest (Lambda time limit). */
  shouldStop?: () => boolean;
  /** Called after each change record (progress displays). */
  onRecord?: (records: number) => void;
  log?: Logger;
}

export type ActionStatus = "applied" | "unchanged" | "failed" | "skipped";

export interface VpcActionOutcome {
  status: ActionStatus;
  flowLogId?: string;
  error?: string;
}

export interface ActionOutcome {
  key: string;
  kind: Action["kind"];
  status: ActionStatus;
  error?: string;
  /** For create-flow-log: what happened to each VPC of the batch. */
  perVpc?: Map<string, VpcActionOutcome>;
}

export interface ExecutionResult {
  outcomes: Map<string, ActionOutcome>;
  records: ChangeRecord[];
}

const IAM_PROPAGATION_MESSAGE = /unable to assume given iam role/i;
const ALREADY_EXISTS = /FlowLogAlreadyExists|already exists|existing flow log/i;

/**
 * Applies a plan through the given clients. For each action: read the current state, skip it if it
 * is already right, apply it, and read back. A failed action fails only the VPCs that depend on it;
 * the run goes on. Never deletes anything and never lowers a retention.
 */
export async function executePlan(plan: Plan, options: ExecutorOptions): Promise<ExecutionResult> {
  const run = new PlanRun(plan, options);
  await run.executeRoleActions();
  const regions = [...new Set(plan.actions.flatMap((action) => ("region" in action ? [action.region] : [])))];
  await mapWithConcurrency(regions, 4, (region) => run.executeRegion(region));
  return { outcomes: run.outcomes, records: run.records };
}

class PlanRun {
  readonly outcomes = new Map<string, ActionOutcome>();
  readonly records: ChangeRecord[] = [];
  private readonly plan: Plan;
  private readonly options: ExecutorOptions;
  private readonly now: () => Date;
  private readonly sleep: Sleep;
  private readonly log: Logger;
  private roleFailure: string | undefined;
  private roleCreatedByOtherRun = false;

  constructor(plan: Plan, options: ExecutorOptions) {
    this.plan = plan;
    this.options = options;
    this.now = options.now ?? (() => new Date());
    this.sleep = options.sleep ?? realSleep;
    this.log = options.log ?? silentLogger;
  }

  private record(
    action: Action,
    fields: {
      region: string;
      vpcId: string | null;
      target: ChangeRecord["target"];
      before: unknown;
      after: unknown;
    },
    error?: string,
  ): void {
    this.records.push(
      newChangeRecord({
        actionKey: action.key,
        time: this.now().toISOString(),
        account: this.plan.account,
        action: action.kind,
        reason: action.reason,
        trigger: this.options.trigger,
        outcome: error ? "failed" : "applied",
        ...(error ? { error } : {}),
        ...fields,
      }),
    );
    this.options.onRecord?.(this.records.length);
  }

  private setOutcome(
    action: Action,
    status: ActionStatus,
    error?: string,
    perVpc?: Map<string, VpcActionOutcome>,
  ) {
    this.outcomes.set(action.key, {
      key: action.key,
      kind: action.kind,
      status,
      ...(error ? { error } : {}),
      ...(perVpc ? { perVpc } : {}),
    });
    if (status === "failed") this.log.warn("remediation action failed", { action: action.key, error });
  }

  async executeRoleActions(): Promise<void> {
    const roleClients = this.options.clientsFor(this.options.homeRegion);
    const iam = roleClients.iam;
    for (const action of this.plan.actions) {
      if (
        action.kind !== "create-role" &&
        action.kind !== "update-role-trust" &&
        action.kind !== "put-role-policy"
      ) {
        continue;
      }
      const target = { type: "iam-role" as const, id: action.roleName, arn: action.roleArn };
      try {
        if (action.kind === "create-role") {
          try {
            await iam.send(
              new CreateRoleCommand({
                RoleName: action.roleName,
                Path: action.path,
                AssumeRolePolicyDocument: JSON.stringify(action.trustPolicy),
                Description: "Lets VPC Flow Logs deliver to CloudWatch Logs. Managed by flowlog-guard.",
                Tags: [{ Key: MANAGED_TAG.key, Value: MANAGED_TAG.value }],
              }),
            );
            this.setOutcome(action, "applied");
            this.record(action, {
              region: "global",
              vpcId: null,
              target,
              before: null,
              after: { trustPolicy: action.trustPolicy },
            });
          } catch (error) {
            if (
              awsErrorName(error) !== "EntityAlreadyExistsException" &&
              awsErrorName(error) !== "EntityAlreadyExists"
            ) {
              throw error;
            }
            // Created concurrently by another run: make sure its trust is ours.
            this.roleCreatedByOtherRun = true;
            await this.ensureTrust(action, action.trustPolicy, target);
          }
        } else if (action.kind === "update-role-trust") {
          await this.ensureTrust(action, action.after, target);
        } else {
          let current = await readInlinePolicy(roleClients, action.roleName, action.policyName);
          // The run that created the role is about to put its policy: give it a moment rather than
          // racing it and recording the same change twice.
          for (let wait = 250; !current && this.roleCreatedByOtherRun && wait <= 2_000; wait *= 2) {
            await this.sleep(wait);
            current = await readInlinePolicy(roleClients, action.roleName, action.policyName);
          }
          if (policyDocumentsEqual(current, action.after)) {
            this.setOutcome(action, "unchanged");
            continue;
          }
          await iam.send(
            new PutRolePolicyCommand({
              RoleName: action.roleName,
              PolicyName: action.policyName,
              PolicyDocument: JSON.stringify(action.after),
            }),
          );
          this.setOutcome(action, "applied");
          this.record(action, {
            region: "global",
            vpcId: null,
            target,
            before: current ?? null,
            after: action.after,
          });
        }
      } catch (error) {
        const message = describeError(error);
        this.roleFailure ??= `delivery role ${action.roleName} is not ready: ${message}`;
        this.setOutcome(action, "failed", message);
        this.record(action, { region: "global", vpcId: null, target, before: null, after: null }, message);
      }
    }
  }

  private async ensureTrust(
    action: Action & { roleName: string },
    trust: PolicyDocument,
    target: ChangeRecord["target"],
  ): Promise<void> {
    const iam = this.options.clientsFor(this.options.homeRegion).iam;
    const role = (await iam.send(new GetRoleCommand({ RoleName: action.roleName }))).Role;
    const current = role?.AssumeRolePolicyDocument
      ? parsePolicyDocument(role.AssumeRolePolicyDocument)
      : undefined;
    if (policyDocumentsEqual(current, trust)) {
      this.setOutcome(action, "unchanged");
      return;
    }
    await iam.send(
      new UpdateAssumeRolePolicyCommand({ RoleName: action.roleName, PolicyDocument: JSON.stringify(trust) }),
    );
    this.setOutcome(action, "applied");
    this.record(action, { region: "global", vpcId: null, target, before: current ?? null, after: trust });
  }

  /**
   * Applies a region's actions as one pipeline per VPC (log group, then retention and flow log side by
   * side), many VPCs at once. Each API has its own AWS rate bucket, so the buckets drain together and
   * a region takes about as long as its slowest bucket allows, not the sum of them. Shared actions (a
   * log group several VPCs use) run once, and every VPC that needs them waits for that one run.
   */
  async executeRegion(region: string): Promise<void> {
    const clients = this.options.clientsFor(region);
    const actions = this.plan.actions.filter((action) => "region" in action && action.region === region);
    const started = new Map<string, Promise<void>>();
    const runOnce = (action: Action | undefined): Promise<void> => {
      if (!action) return Promise.resolve();
      let running = started.get(action.key);
      if (!running) {
        running = this.options.shouldStop?.()
          ? Promise.resolve(this.skipForTimeLimit(action))
          : this.apply(clients, action);
        started.set(action.key, running);
      }
      return running;
    };
    const byKey = new Map(actions.map((action) => [action.key, action]));
    const groupSteps = (logGroupName: string) => ({
      create: byKey.get(`log-group:${region}:${logGroupName}`),
      retention: byKey.get(`retention:${region}:${logGroupName}`),
    });

    // Work items in plan order (internet-facing and production VPCs first): every flow log to create,
    // then log-group repairs that no new flow log depends on.
    const flowLogs = actions.filter(
      (a): a is Extract<Action, { kind: "create-flow-log" }> => a.kind === "create-flow-log",
    );
    const groupNames = [
      ...new Set(
        actions.flatMap((a) =>
          a.kind === "create-log-group" || a.kind === "put-retention-policy" ? [a.logGroupName] : [],
        ),
      ),
    ];
    const items: (() => Promise<void>)[] = [
      ...flowLogs.map((flowLog) => async () => {
        const steps = groupSteps(flowLog.logGroupName);
        await runOnce(steps.create);
        await Promise.all([runOnce(steps.retention), runOnce(flowLog)]);
      }),
      ...groupNames.map((name) => async () => {
        const steps = groupSteps(name);
        await runOnce(steps.create);
        await runOnce(steps.retention);
      }),
    ];
    await mapWithConcurrency(items, this.options.concurrency ?? 8, (item) => item());
    await this.verifyFlowLogs(clients, flowLogs);
  }

  private apply(clients: AwsClients, action: Action): Promise<void> {
    switch (action.kind) {
      case "create-log-group":
        return this.createLogGroup(clients, action);
      case "put-retention-policy":
        return this.putRetention(clients, action);
      case "create-flow-log":
        return this.createFlowLogs(clients, action);
      default:
        return Promise.resolve();
    }
  }

  private skipForTimeLimit(action: Action): void {
    const reason = "not started: the run stopped before its time limit";
    const perVpc =
      action.kind === "create-flow-log"
        ? new Map(action.vpcIds.map((vpcId) => [vpcId, { status: "skipped" as const, error: reason }]))
        : undefined;
    this.setOutcome(action, "skipped", reason, perVpc);
  }

  /** What log-group actions share: the record's target, its VPC (when only one), and retry settings. */
  private logGroupContext(action: Extract<Action, { kind: "create-log-group" | "put-retention-policy" }>) {
    return {
      target: {
        type: "log-group" as const,
        id: action.logGroupName,
        arn: logGroupArn(this.plan.partition, action.region, this.plan.account, action.logGroupName),
      },
      vpcId: action.vpcIds.length === 1 ? (action.vpcIds[0] ?? null) : null,
      retryLogs: (errorNames: string[]) => ({
        retryable: (error: unknown) => errorNames.includes(awsErrorName(error) ?? ""),
        timeoutMs: 30_000,
        sleep: this.sleep,
      }),
    };
  }

  private async createLogGroup(clients: AwsClients, action: Extract<Action, { kind: "create-log-group" }>) {
    const { target, vpcId, retryLogs } = this.logGroupContext(action);
    try {
      await retryWithBackoff(
        () =>
          clients.logs.send(
            new CreateLogGroupCommand({
              logGroupName: action.logGroupName,
              ...(action.kmsKeyArn ? { kmsKeyId: action.kmsKeyArn } : {}),
              tags: { [MANAGED_TAG.key]: MANAGED_TAG.value },
            }),
          ),
        retryLogs(["OperationAbortedException"]),
      );
      this.setOutcome(action, "applied");
      this.record(action, {
        region: action.region,
        vpcId,
        target,
        before: null,
        after: { logGroupName: action.logGroupName, kmsKeyArn: action.kmsKeyArn ?? null },
      });
    } catch (error) {
      if (awsErrorName(error) === "ResourceAlreadyExistsException") {
        this.setOutcome(action, "unchanged");
        return;
      }
      const message = describeError(error);
      this.setOutcome(action, "failed", message);
      this.record(action, { region: action.region, vpcId, target, before: null, after: null }, message);
    }
  }

  private async putRetention(clients: AwsClients, action: Extract<Action, { kind: "put-retention-policy" }>) {
    const { target, vpcId, retryLogs } = this.logGroupContext(action);
    const creation = this.outcomes.get(`log-group:${action.region}:${action.logGroupName}`);
    if (creation?.status === "failed") {
      this.setOutcome(action, "skipped", `log group was not created: ${creation.error}`);
      return;
    }
    try {
      // A group this run just created has no retention yet; any other is read again right before
      // the change, so that a concurrent change is respected and retention is never lowered.
      let before: number | null = null;
      if (!(action.newGroup && creation?.status === "applied")) {
        const current = (await readLogGroups(clients, action.logGroupName)).find(
          (group) => group.name === action.logGroupName,
        );
        if (!current) throw new Error(`log group ${action.logGroupName} no longer exists`);
        if (current.retentionInDays === undefined || current.retentionInDays >= action.retentionDays) {
          this.setOutcome(action, "unchanged");
          return;
        }
        before = current.retentionInDays;
      }
      await retryWithBackoff(
        () =>
          clients.logs.send(
            new PutRetentionPolicyCommand({
              logGroupName: action.logGroupName,
              retentionInDays: action.retentionDays,
            }),
          ),
        // Right after CreateLogGroup the group may not be visible yet (eventual consistency).
        retryLogs(["ResourceNotFoundException", "OperationAbortedException"]),
      );
      this.setOutcome(action, "applied");
      this.record(action, {
        region: action.region,
        vpcId,
        target,
        before: { retentionInDays: before },
        after: { retentionInDays: action.retentionDays },
      });
    } catch (error) {
      const message = describeError(error);
      this.setOutcome(action, "failed", message);
      this.record(action, { region: action.region, vpcId, target, before: null, after: null }, message);
    }
  }

  private async createFlowLogs(clients: AwsClients, action: Extract<Action, { kind: "create-flow-log" }>) {
    const perVpc = new Map<string, VpcActionOutcome>();
    const logGroupOutcome = this.outcomes.get(`log-group:${action.region}:${action.logGroupName}`);
    const blocker =
      this.roleFailure ??
      (logGroupOutcome?.status === "failed"
        ? `log group was not created: ${logGroupOutcome.error}`
        : undefined);
    if (blocker) {
      for (const vpcId of action.vpcIds) perVpc.set(vpcId, { status: "skipped", error: blocker });
      this.setOutcome(action, "skipped", blocker, perVpc);
      return;
    }

    let remaining = [...action.vpcIds];
    try {
      await retryWithBackoff(
        async () => {
          const result = await this.sendCreateFlowLogs(clients, action, remaining);
          for (const [vpcId, outcome] of result) perVpc.set(vpcId, outcome);
          remaining = remaining.filter((vpcId) => perVpc.get(vpcId)?.error?.match(IAM_PROPAGATION_MESSAGE));
          if (remaining.length > 0) throw new Error(perVpc.get(remaining[0]!)?.error);
        },
        {
          retryable: (error) => IAM_PROPAGATION_MESSAGE.test(describeError(error)),
          timeoutMs: this.options.iamPropagationTimeoutMs ?? 120_000,
          baseDelayMs: 2_000,
          sleep: this.sleep,
          onRetry: (_error, attempt, delay) =>
            this.log.info("delivery role not assumable yet, retrying", {
              action: action.key,
              attempt,
              delay,
            }),
        },
      );
    } catch (error) {
      const message = describeError(error);
      for (const vpcId of action.vpcIds) {
        const outcome = perVpc.get(vpcId);
        if (!outcome || outcome.status === "failed" || remaining.includes(vpcId)) {
          perVpc.set(vpcId, { status: "failed", error: outcome?.error ?? message });
        }
      }
    }

    for (const vpcId of action.vpcIds) {
      const outcome = perVpc.get(vpcId);
      if (outcome?.status === "applied" || outcome?.status === "failed") {
        this.record(
          action,
          {
            region: action.region,
            vpcId,
            target: { type: "flow-log", id: outcome.flowLogId ?? vpcId },
            before: null,
            after:
              outcome.status === "applied"
                ? {
                    flowLogId: outcome.flowLogId,
                    trafficType: action.trafficType,
                    logGroupName: action.logGroupName,
                    deliverLogsPermissionArn: action.roleArn,
                    maxAggregationInterval: action.maxAggregationInterval,
                  }
                : null,
          },
          outcome.status === "failed" ? outcome.error : undefined,
        );
      }
    }
    const statuses = [...perVpc.values()].map((outcome) => outcome.status);
    const status: ActionStatus = statuses.includes("failed")
      ? "failed"
      : statuses.includes("applied")
        ? "applied"
        : "unchanged";
    const firstError = [...perVpc.values()].find((outcome) => outcome.error)?.error;
    this.setOutcome(action, status, status === "failed" ? firstError : undefined, perVpc);
  }

  /** One CreateFlowLogs call; partial failures come back in `Unsuccessful`, not as an exception. */
  private async sendCreateFlowLogs(
    clients: AwsClients,
    action: Extract<Action, { kind: "create-flow-log" }>,
    vpcIds: string[],
  ): Promise<Map<string, VpcActionOutcome>> {
    const outcomes = new Map<string, VpcActionOutcome>();
    // A retry with fewer VPCs is a different request and gets its own token (same token with other
    // parameters is IdempotentParameterMismatch); a retry of the same request reuses it.
    const clientToken = flowLogClientToken(this.options.trigger.runId, [
      this.plan.account,
      action.region,
      vpcIds.join(","),
      action.logGroupName,
      action.roleArn,
      action.trafficType,
      action.maxAggregationInterval,
      action.logFormat,
    ]);
    let response: { FlowLogIds?: string[]; Unsuccessful?: UnsuccessfulItem[] };
    try {
      response = await clients.ec2.send(
        new CreateFlowLogsCommand({
          ResourceIds: vpcIds,
          ResourceType: "VPC",
          TrafficType: action.trafficType,
          LogDestinationType: "cloud-watch-logs",
          LogGroupName: action.logGroupName,
          DeliverLogsPermissionArn: action.roleArn,
          MaxAggregationInterval: action.maxAggregationInterval,
          ...(action.logFormat ? { LogFormat: action.logFormat } : {}),
          ClientToken: clientToken,
          TagSpecifications: [
            { ResourceType: "vpc-flow-log", Tags: [{ Key: MANAGED_TAG.key, Value: MANAGED_TAG.value }] },
          ],
        }),
      );
    } catch (error) {
      const message = describeError(error);
      if (!ALREADY_EXISTS.test(message)) {
        for (const vpcId of vpcIds) outcomes.set(vpcId, { status: "failed", error: message });
        return outcomes;
      }
      // Thrown for the whole call when one flow log exists: find out VPC by VPC.
      if (vpcIds.length > 1) {
        for (const vpcId of vpcIds) {
          for (const [id, outcome] of await this.sendCreateFlowLogs(clients, action, [vpcId]))
            outcomes.set(id, outcome);
        }
        return outcomes;
      }
      response = {
        FlowLogIds: [],
        Unsuccessful: [{ ResourceId: vpcIds[0], Error: { Code: "FlowLogAlreadyExists", Message: message } }],
      };
    }

    const unsuccessful = new Map(
      (response.Unsuccessful ?? []).map((item) => [
        item.ResourceId ?? "",
        `${item.Error?.Code ?? ""}: ${item.Error?.Message ?? ""}`,
      ]),
    );
    const existing = [...unsuccessful]
      .filter(([, error]) => ALREADY_EXISTS.test(error))
      .map(([vpcId]) => vpcId);
    const found =
      existing.length > 0
        ? await findFlowLogs(clients, existing, action.logGroupName)
        : new Map<string, string>();
    for (const [vpcId, error] of unsuccessful) {
      if (ALREADY_EXISTS.test(error)) {
        const flowLogId = found.get(vpcId);
        outcomes.set(vpcId, { status: "unchanged", ...(flowLogId ? { flowLogId } : {}) });
      } else {
        outcomes.set(vpcId, { status: "failed", error });
      }
    }
    // The response lists ids, not which VPC each belongs to: read them back to pair them up.
    const created = response.FlowLogIds ?? [];
    const pending = vpcIds.filter((vpcId) => !outcomes.has(vpcId));
    const createdByVpc =
      pending.length === 1 && created.length === 1
        ? new Map([[pending[0]!, created[0]!]])
        : created.length > 0
          ? await findFlowLogsById(clients, created)
          : new Map<string, string>();
    for (const vpcId of vpcIds) {
      if (outcomes.has(vpcId)) continue;
      const flowLogId = createdByVpc.get(vpcId);
      outcomes.set(
        vpcId,
        flowLogId
          ? { status: "applied", flowLogId }
          : {
              status: "failed",
              error: "CreateFlowLogs reported success but no flow log for this VPC was found",
            },
      );
    }
    return outcomes;
  }

  /** Reads every flow log this run created back from the API, 1000 ids a call. */
  private async verifyFlowLogs(clients: AwsClients, actions: Extract<Action, { kind: "create-flow-log" }>[]) {
    const created = actions.flatMap((action) =>
      [...(this.outcomes.get(action.key)?.perVpc ?? [])]
        .filter(([, outcome]) => outcome.status === "applied" && outcome.flowLogId)
        .map(([vpcId, outcome]) => ({ action, vpcId, flowLogId: outcome.flowLogId! })),
    );
    if (created.length === 0) return;
    const seen = await findFlowLogsById(
      clients,
      created.map((entry) => entry.flowLogId),
    );
    const seenIds = new Set(seen.values());
    for (const entry of created) {
      if (seenIds.has(entry.flowLogId)) continue;
      const outcome = this.outcomes.get(entry.action.key);
      outcome?.perVpc?.set(entry.vpcId, {
        status: "failed",
        flowLogId: entry.flowLogId,
        error: `flow log ${entry.flowLogId} was created but could not be read back`,
      });
      if (outcome) outcome.status = "failed";
    }
  }
}

/** VPC id -> flow log id for the flow logs a DescribeFlowLogs request finds, 1000 a page. */
async function flowLogIdsByVpc(
  clients: AwsClients,
  input: DescribeFlowLogsRequest,
): Promise<Map<string, string>> {
  const byVpc = new Map<string, string>();
  for await (const page of paginateDescribeFlowLogs({ client: clients.ec2, pageSize: 1000 }, input)) {
    for (const flowLog of page.FlowLogs ?? []) {
      if (flowLog.ResourceId && flowLog.FlowLogId) byVpc.set(flowLog.ResourceId, flowLog.FlowLogId);
    }
  }
  return byVpc;
}

/** VPC id -> flow log id, for the given flow log ids (1000 ids a request). */
async function findFlowLogsById(clients: AwsClients, flowLogIds: string[]): Promise<Map<string, string>> {
  const byVpc = new Map<string, string>();
  for (let start = 0; start < flowLogIds.length; start += 1000) {
    const found = await flowLogIdsByVpc(clients, { FlowLogIds: flowLogIds.slice(start, start + 1000) });
    for (const [vpcId, flowLogId] of found) byVpc.set(vpcId, flowLogId);
  }
  return byVpc;
}

/** VPC id -> id of its flow log into `logGroupName`, for flow logs that already existed. */
function findFlowLogs(
  clients: AwsClients,
  vpcIds: string[],
  logGroupName: string,
): Promise<Map<string, string>> {
  return flowLogIdsByVpc(clients, {
    Filter: [
      { Name: "resource-id", Values: vpcIds },
      { Name: "log-group-name", Values: [logGroupName] },
    ],
  });
}
