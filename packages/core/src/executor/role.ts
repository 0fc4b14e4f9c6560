import {
  CreateRoleCommand,
  DeleteRolePermissionsBoundaryCommand,
  DetachRolePolicyCommand,
  GetRoleCommand,
  PutRolePermissionsBoundaryCommand,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from "@aws-sdk/client-iam";
import { awsErrorName, describeError, isNoSuchEntity } from "../errors.ts";
import { readInlinePolicy } from "../inventory.ts";
import { createdByRun, creationTags, DELIVERY_ROLE_DESCRIPTION } from "../naming.ts";
import type { Action } from "../plan.ts";
import { type PolicyDocument, parsePolicyDocument, policyDocumentsEqual } from "../policy-documents.ts";
import type { ActionContext, ActionHandler } from "./context.ts";
import { type ChangeSite, failureOf } from "./run-state.ts";

type RoleAction = Extract<
  Action,
  {
    kind:
      | "create-role"
      | "update-role-trust"
      | "put-role-policy"
      | "detach-role-policy"
      | "delete-role-permissions-boundary"
      | "put-role-permissions-boundary";
  }
>;
type DetachRolePolicy = Extract<Action, { kind: "detach-role-policy" }>;
type DeleteBoundary = Extract<Action, { kind: "delete-role-permissions-boundary" }>;
type PutBoundary = Extract<Action, { kind: "put-role-permissions-boundary" }>;

function siteOf(action: RoleAction): ChangeSite {
  return {
    region: "global",
    vpcId: null,
    target: { type: "iam-role", id: action.roleName, arn: action.roleArn },
  };
}

/**
 * Runs a role action; a failure is settled as failed and, unless `blocksFlowLogs` is false, makes the
 * delivery role "not ready", which skips every flow log of the run (they could not deliver). Removing
 * an attachment does not block them: the role still has its trust and inline policy, and may deliver.
 */
function roleHandler<A extends RoleAction>(
  apply: (context: ActionContext, action: A) => Promise<void>,
  { blocksFlowLogs = true } = {},
): ActionHandler<A> {
  return {
    scope: "account",
    run: async (context, action) => {
      try {
        await apply(context, action);
      } catch (error) {
        const message = describeError(error);
        if (blocksFlowLogs)
          context.role.problem ??= `delivery role ${action.roleName} is not ready: ${message}`;
        context.state.settle(action, siteOf(action), failureOf(error));
      }
    },
  };
}

/** CreateRole (tagged as managed); if another run created it first, make sure its trust is ours. */
export const createRole = roleHandler<Extract<Action, { kind: "create-role" }>>(async (context, action) => {
  try {
    await context.clients.iam.send(
      new CreateRoleCommand({
        RoleName: action.roleName,
        Path: action.path,
        AssumeRolePolicyDocument: JSON.stringify(action.trustPolicy),
        Description: DELIVERY_ROLE_DESCRIPTION,
        Tags: creationTags(context.trigger.runId),
        // An SCP may refuse CreateRole without this boundary (iam:PermissionsBoundary).
        ...(action.permissionsBoundaryArn ? { PermissionsBoundary: action.permissionsBoundaryArn } : {}),
      }),
    );
  } catch (error) {
    const name = awsErrorName(error);
    if (name !== "EntityAlreadyExistsException" && name !== "EntityAlreadyExists") throw error;
    // Made by an earlier attempt of this run whose response was lost (its run tag), or by another run.
    const role = (await context.clients.iam.send(new GetRoleCommand({ RoleName: action.roleName }))).Role;
    if (!createdByRun(role?.Tags, context.trigger.runId)) {
      context.role.createdByOtherRun = true;
      await ensureTrust(context, action, action.trustPolicy);
      return;
    }
  }
  context.state.settle(action, siteOf(action), {
    status: "applied",
    before: null,
    after: {
      trustPolicy: action.trustPolicy,
      ...(action.permissionsBoundaryArn ? { permissionsBoundaryArn: action.permissionsBoundaryArn } : {}),
    },
  });
});

/** UpdateAssumeRolePolicy, after reading the trust again (it may have been fixed meanwhile). */
export const updateRoleTrust = roleHandler<Extract<Action, { kind: "update-role-trust" }>>(
  (context, action) => ensureTrust(context, action, action.after),
);

/** PutRolePolicy, after reading the inline policy again (it may have been fixed meanwhile). */
export const putRolePolicy = roleHandler<Extract<Action, { kind: "put-role-policy" }>>(
  async (context, action) => {
    let current = await readInlinePolicy(context.clients, action.roleName, action.policyName);
    // The run that created the role is about to put its policy: give it a moment rather than racing
    // it and recording the same change twice.
    for (let wait = 250; !current && context.role.createdByOtherRun && wait <= 2_000; wait *= 2) {
      await context.sleep(wait);
      current = await readInlinePolicy(context.clients, action.roleName, action.policyName);
    }
    if (policyDocumentsEqual(current, action.after)) {
      context.state.settle(action, siteOf(action), { status: "unchanged" });
      return;
    }
    await context.clients.iam.send(
      new PutRolePolicyCommand({
        RoleName: action.roleName,
        PolicyName: action.policyName,
        PolicyDocument: JSON.stringify(action.after),
      }),
    );
    context.state.settle(action, siteOf(action), {
      status: "applied",
      before: current ?? null,
      after: action.after,
    });
  },
);

async function ensureTrust(context: ActionContext, action: RoleAction, trust: PolicyDocument): Promise<void> {
  const iam = context.clients.iam;
  const role = (await iam.send(new GetRoleCommand({ RoleName: action.roleName }))).Role;
  const current = role?.AssumeRolePolicyDocument
    ? parsePolicyDocument(role.AssumeRolePolicyDocument)
    : undefined;
  if (policyDocumentsEqual(current, trust)) {
    context.state.settle(action, siteOf(action), { status: "unchanged" });
    return;
  }
  await iam.send(
    new UpdateAssumeRolePolicyCommand({ RoleName: action.roleName, PolicyDocument: JSON.stringify(trust) }),
  );
  context.state.settle(action, siteOf(action), { status: "applied", before: current ?? null, after: trust });
}

/**
 * DetachRolePolicy on the delivery role only; the managed policy itself is left untouched. "Not
 * found" means it is detached already (by another run, or by hand): nothing to record.
 */
export const detachRolePolicy = roleHandler<DetachRolePolicy>(
  async (context, action) => {
    try {
      await context.clients.iam.send(
        new DetachRolePolicyCommand({ RoleName: action.roleName, PolicyArn: action.policyArn }),
      );
    } catch (error) {
      if (!isNoSuchEntity(error)) throw error;
      context.state.settle(action, siteOf(action), { status: "unchanged" });
      return;
    }
    context.state.settle(action, siteOf(action), {
      status: "applied",
      before: { attachedPolicyArn: action.policyArn },
      after: { attachedPolicyArn: null },
    });
  },
  { blocksFlowLogs: false },
);

/**
 * DeleteRolePermissionsBoundary on the delivery role, after reading the role again (the call succeeds
 * on a role without a boundary, so the read is what keeps a concurrent run from recording it twice).
 */
export const deleteRolePermissionsBoundary = roleHandler<DeleteBoundary>(
  async (context, action) => {
    const iam = context.clients.iam;
    const role = (await iam.send(new GetRoleCommand({ RoleName: action.roleName }))).Role;
    const boundary = role?.PermissionsBoundary?.PermissionsBoundaryArn;
    if (!boundary) {
      context.state.settle(action, siteOf(action), { status: "unchanged" });
      return;
    }
    await iam.send(new DeleteRolePermissionsBoundaryCommand({ RoleName: action.roleName }));
    context.state.settle(action, siteOf(action), {
      status: "applied",
      before: { permissionsBoundaryArn: boundary },
      after: { permissionsBoundaryArn: null },
    });
  },
  { blocksFlowLogs: false },
);

/**
 * PutRolePermissionsBoundary with the configured boundary (`rolePermissionsBoundary`), after reading
 * the role again: a concurrent run (or the operator) may have set it meanwhile, and then there is
 * nothing to record. A failure does not block flow logs: the role keeps its trust and inline policy.
 */
export const putRolePermissionsBoundary = roleHandler<PutBoundary>(
  async (context, action) => {
    const iam = context.clients.iam;
    const role = (await iam.send(new GetRoleCommand({ RoleName: action.roleName }))).Role;
    const boundary = role?.PermissionsBoundary?.PermissionsBoundaryArn ?? null;
    if (boundary === action.after) {
      context.state.settle(action, siteOf(action), { status: "unchanged" });
      return;
    }
    await iam.send(
      new PutRolePermissionsBoundaryCommand({ RoleName: action.roleName, PermissionsBoundary: action.after }),
    );
    context.state.settle(action, siteOf(action), {
      status: "applied",
      before: { permissionsBoundaryArn: boundary },
      after: { permissionsBoundaryArn: action.after },
    });
  },
  { blocksFlowLogs: false },
);
