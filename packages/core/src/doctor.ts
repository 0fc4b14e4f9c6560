import {
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  type GetEventSelectorsCommandOutput,
  GetTrailStatusCommand,
} from "@aws-sdk/client-cloudtrail";
import { DescribeLogGroupsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { DescribeFlowLogsCommand, DescribeVpcsCommand } from "@aws-sdk/client-ec2";
import { DescribeEventBusCommand } from "@aws-sdk/client-eventbridge";
import { GetRoleCommand, SimulatePrincipalPolicyCommand } from "@aws-sdk/client-iam";
import type { ClientPool } from "./aws-clients.ts";
import { type Policy, roleBoundaryFor } from "./config.ts";
import { checkKmsKeys } from "./doctor-kms.ts";
import { checkS3Destination } from "./doctor-s3.ts";
import { awsErrorName, describeError } from "./errors.ts";
import { type AccountIdentity, readAccountIdentity, readDeliveryRole } from "./inventory.ts";
import type { RoleFacts } from "./model.ts";
import { simulationRequests } from "./permission-simulation.ts";
import {
  deliveryRolePermissionsPolicy,
  deliveryRoleTrustPolicy,
  type PolicyDocument,
  policyDocumentsEqual,
} from "./policy-documents.ts";
import { ledgerRegionOf, servicePolicyDocument } from "./service-policy.ts";

export interface DoctorCheck {
  name: string;
  status: "ok" | "warn" | "fail";
  detail: string;
  /** What to do about it, when it is not ok. */
  fix?: string;
}

const ok = (name: string, detail: string): DoctorCheck => ({ name, status: "ok", detail });

/** Management write events recorded by a trail's selectors (basic or advanced). */
export function recordsManagementWrites(
  selectors: Pick<GetEventSelectorsCommandOutput, "EventSelectors" | "AdvancedEventSelectors">,
): boolean {
  // A trail nobody configured logs all management events (AWS's default selector); emulators report none.
  if (!selectors.EventSelectors?.length && !selectors.AdvancedEventSelectors?.length) return true;
  if (
    selectors.EventSelectors?.some(
      (s) => (s.IncludeManagementEvents ?? true) && s.ReadWriteType !== "ReadOnly",
    )
  ) {
    return true;
  }
  return (selectors.AdvancedEventSelectors ?? []).some((selector) => {
    const fields = selector.FieldSelectors ?? [];
    const management = fields.some((f) => f.Field === "eventCategory" && f.Equals?.includes("Management"));
    const readOnly = fields.find((f) => f.Field === "readOnly");
    return management && (!readOnly || readOnly.Equals?.includes("false"));
  });
}

async function checkTrail(pool: ClientPool, homeRegion: string, regions: string[]): Promise<DoctorCheck> {
  const name = "CloudTrail trail (events reach EventBridge only while one logs management write events)";
  const fix =
    "create a multi-region trail that logs management events (Write-only or All): aws cloudtrail create-trail " +
    "--name flowlog-guard-trail --s3-bucket-name <bucket> --is-multi-region-trail && aws cloudtrail start-logging --name flowlog-guard-trail";
  const cloudtrail = pool.clientsFor(homeRegion).cloudtrail;
  const trails =
    (await cloudtrail.send(new DescribeTrailsCommand({ includeShadowTrails: true }))).trailList ?? [];
  const covered = new Set<string>();
  const notes: string[] = [];
  for (const trail of trails) {
    const id = trail.TrailARN ?? trail.Name ?? "";
    const status = await cloudtrail.send(new GetTrailStatusCommand({ Name: id }));
    if (!status.IsLogging) {
      notes.push(`${trail.Name} is not logging`);
      continue;
    }
    const selectors = await cloudtrail.send(new GetEventSelectorsCommand({ TrailName: id }));
    if (!recordsManagementWrites(selectors)) {
      notes.push(`${trail.Name} does not record management write events`);
      continue;
    }
    if (trail.IsMultiRegionTrail) for (const region of regions) covered.add(region);
    else if (trail.HomeRegion) covered.add(trail.HomeRegion);
  }
  const missing = regions.filter((region) => !covered.has(region));
  if (missing.length === 0) return ok(name, `every watched region (${regions.length}) is covered`);
  return {
    name,
    status: "fail",
    detail: `no logging trail records management writes for ${missing.join(", ")}${notes.length ? ` (${notes.join("; ")})` : ""}`,
    fix,
  };
}

async function checkRole(
  pool: ClientPool,
  homeRegion: string,
  policy: Policy,
  identity: AccountIdentity,
): Promise<DoctorCheck> {
  const name = `delivery role ${policy.roleName}`;
  const role = await readDeliveryRole(pool.clientsFor(homeRegion), policy.roleName);
  if (!role.exists) {
    return {
      name,
      status: "warn",
      detail: "does not exist yet",
      fix: "nothing to do: fix-all or the first event creates it",
    };
  }
  if (
    !policyDocumentsEqual(role.trustPolicy, deliveryRoleTrustPolicy(identity.partition, identity.accountId))
  ) {
    return {
      name,
      status: "fail",
      detail:
        "its trust policy is not the one flow logs need (vpc-flow-logs.amazonaws.com, this account only)",
      fix: "run `flowlog-guard fix-all`: it restores the trust policy and records the change",
    };
  }
  const permissions = deliveryRolePermissionsPolicy(
    policy.logGroupName,
    identity.partition,
    identity.accountId,
  );
  if (!policyDocumentsEqual(role.permissionsPolicy, permissions)) {
    return {
      name,
      status: "fail",
      detail: role.permissionsPolicy
        ? "its inline delivery policy drifted from the one flow logs need (log writes to the managed log groups only)"
        : "its inline delivery policy is missing: flow logs cannot write to their log groups",
      fix: "run `flowlog-guard fix-all`: it restores the inline policy and records the change",
    };
  }
  const boundary = roleBoundaryFor(policy, identity.accountId);
  return (
    attachmentProblem(name, role, boundary) ??
    ok(
      name,
      `exists, trust and inline policy as expected, nothing attached${boundary ? `, permissions boundary ${boundary}` : ""}`,
    )
  );
}

/**
 * A managed policy attached to the delivery role, or a boundary other than the declared one (none, or
 * `rolePermissionsBoundary`): either can deny delivery, and a missing required one breaks the SCP's rule.
 */
function attachmentProblem(
  name: string,
  role: RoleFacts,
  wanted: string | undefined,
): DoctorCheck | undefined {
  const attached = role.attachedPolicyArns ?? [];
  const boundary = role.permissionsBoundaryArn;
  const boundaryWrong = boundary !== wanted;
  if (attached.length === 0 && !boundaryWrong) return undefined;
  const parts = [
    ...(attached.length > 0 ? [`managed policies attached: ${attached.join(", ")}`] : []),
    ...(boundaryWrong ? [`permissions boundary: ${boundary ?? "none"}`] : []),
  ];
  const declared = wanted
    ? `flowlog-guard declares no managed policy and permissions boundary ${wanted} (rolePermissionsBoundary)`
    : "flowlog-guard declares none: they can deny delivery";
  return {
    name,
    status: "fail",
    detail: `${parts.join("; ")} (${declared})`,
    fix: wanted
      ? "run `flowlog-guard fix-all`: it detaches managed policies from this role only (the policies stay), puts the required boundary on it, and records each change"
      : "run `flowlog-guard fix-all`: it detaches them from this role only (the policies stay) and records the change",
  };
}

async function checkLedger(pool: ClientPool, homeRegion: string, policy: Policy): Promise<DoctorCheck> {
  const name = "ledger bus (change records)";
  if (!policy.ledgerBus) {
    return {
      name,
      status: "warn",
      detail: "no ledgerBus configured: change records go to the logs and reports only",
      fix: "deploy the stack (it creates one), or set FLOWLOG_GUARD_LEDGER_BUS / --ledger-bus",
    };
  }
  const region = ledgerRegionOf(policy.ledgerBus, homeRegion);
  try {
    await pool.clientsFor(region).events.send(new DescribeEventBusCommand({ Name: policy.ledgerBus }));
    return ok(name, `${policy.ledgerBus} exists`);
  } catch (error) {
    return {
      name,
      status: "fail",
      detail: `${policy.ledgerBus}: ${describeError(error)}`,
      fix: `deploy the stack, or create it: aws events create-event-bus --name ${policy.ledgerBus.split("/").pop()} --region ${region}`,
    };
  }
}

/** The principal to simulate: an assumed-role session maps to its role. */
async function principalArn(
  pool: ClientPool,
  homeRegion: string,
  identity: AccountIdentity,
): Promise<string | undefined> {
  const assumed = /:assumed-role\/([^/]+)\//.exec(identity.callerArn);
  if (!assumed) return identity.callerArn.endsWith(":root") ? undefined : identity.callerArn;
  const role = await pool.clientsFor(homeRegion).iam.send(new GetRoleCommand({ RoleName: assumed[1]! }));
  return role.Role?.Arn;
}

/** Actions the simulator denies, each statement checked on its resources with its conditions' context. */
async function simulateDenied(
  pool: ClientPool,
  homeRegion: string,
  source: string,
  document: PolicyDocument,
): Promise<string[]> {
  const denied = new Set<string>();
  for (const { ActionNames, ResourceArns, ContextEntries } of simulationRequests(document, homeRegion)) {
    const result = await pool.clientsFor(homeRegion).iam.send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: source,
        ActionNames,
        ResourceArns,
        ContextEntries,
      }),
    );
    for (const evaluation of result.EvaluationResults ?? []) {
      if (evaluation.EvalDecision !== "allowed")
        denied.add(
          `${evaluation.EvalActionName}${evaluation.EvalResourceName && evaluation.EvalResourceName !== "*" ? ` on ${evaluation.EvalResourceName}` : ""}`,
        );
    }
  }
  return [...denied];
}

async function checkPermissions(
  pool: ClientPool,
  homeRegion: string,
  policy: Policy,
  identity: AccountIdentity,
): Promise<DoctorCheck> {
  const name = "caller's permissions";
  const fix = "attach the policy `flowlog-guard iam-policy` prints to the principal that runs flowlog-guard";
  const document = servicePolicyDocument({
    partition: identity.partition,
    accountId: identity.accountId,
    policy,
  });
  const actions = document.Statement.flatMap((statement) => [statement.Action].flat());
  try {
    const source = await principalArn(pool, homeRegion, identity);
    if (source) {
      const denied = await simulateDenied(pool, homeRegion, source, document);
      if (denied.length === 0)
        return ok(name, `all ${actions.length} actions allowed (IAM policy simulator)`);
      return { name, status: "fail", detail: `denied: ${denied.join(", ")}`, fix };
    }
  } catch (error) {
    if (awsErrorName(error) === "AccessDenied" || awsErrorName(error) === "AccessDeniedException") {
      return {
        name,
        status: "warn",
        detail: "not allowed to run the IAM policy simulator; only read access was probed",
        fix,
      };
    }
    // Simulator unavailable (e.g. an emulator): fall back to probing the read calls.
  }
  const clients = pool.clientsFor(homeRegion);
  const probes: [string, () => Promise<unknown>][] = [
    ["ec2:DescribeVpcs", () => clients.ec2.send(new DescribeVpcsCommand({ MaxResults: 5 }))],
    ["ec2:DescribeFlowLogs", () => clients.ec2.send(new DescribeFlowLogsCommand({ MaxResults: 5 }))],
    ["logs:DescribeLogGroups", () => clients.logs.send(new DescribeLogGroupsCommand({ limit: 1 }))],
  ];
  const failed: string[] = [];
  // Only what the settings' policy grants: with an S3 destination there is no log-group action to probe.
  for (const [action, probe] of probes.filter(([action]) => actions.includes(action))) {
    try {
      await probe();
    } catch (error) {
      failed.push(`${action} (${awsErrorName(error) ?? "error"})`);
    }
  }
  if (failed.length > 0) return { name, status: "fail", detail: `denied: ${failed.join(", ")}`, fix };
  return {
    name,
    status: "warn",
    detail: "the IAM policy simulator was not available; read calls work, write calls were not checked",
    fix: `${fix}; then run \`flowlog-guard fix-all --dry-run\``,
  };
}

/**
 * Checks what must be true in a real account before events can fire and remediation can work:
 * credentials, a trail that logs management write events in every watched region, the delivery
 * role's trust and each region's KMS key (or, with an S3 destination, the bucket, its policy and its
 * key), the ledger bus, and the caller's permissions. Each check says how to fix it.
 */
export async function runDoctor(options: {
  pool: ClientPool;
  policy: Policy;
  homeRegion: string;
  regions: string[];
}): Promise<DoctorCheck[]> {
  const { pool, policy, homeRegion, regions } = options;
  let identity: AccountIdentity;
  try {
    identity = await readAccountIdentity(pool.clientsFor(homeRegion));
  } catch (error) {
    return [
      {
        name: "credentials",
        status: "fail",
        detail: describeError(error),
        fix: "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and AWS_REGION",
      },
    ];
  }
  const checks: DoctorCheck[] = [ok("credentials", `account ${identity.accountId} as ${identity.callerArn}`)];
  const guarded = async (name: string, check: () => Promise<DoctorCheck>) => {
    try {
      return await check();
    } catch (error) {
      return {
        name,
        status: "fail" as const,
        detail: describeError(error),
        fix: "see the error; then run doctor again",
      };
    }
  };
  checks.push(await guarded("CloudTrail trail", () => checkTrail(pool, homeRegion, regions)));
  if (policy.destinationType === "s3") {
    // No delivery role with S3: the bucket (policy, key) decides whether delivery works.
    checks.push(
      ...(await checkS3Destination({ clients: pool.clientsFor(homeRegion), policy, identity, regions })),
    );
  } else {
    checks.push(await guarded("delivery role", () => checkRole(pool, homeRegion, policy, identity)));
    checks.push(...(await checkKmsKeys({ pool, policy, identity, regions })));
  }
  checks.push(await guarded("ledger bus", () => checkLedger(pool, homeRegion, policy)));
  checks.push(
    await guarded("caller's permissions", () => checkPermissions(pool, homeRegion, policy, identity)),
  );
  return checks;
}
