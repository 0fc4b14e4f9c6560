import { AssociateKmsKeyCommand } from "@aws-sdk/client-cloudwatch-logs";
import { readLogGroups } from "../inventory.ts";
import type { Action } from "../plan.ts";
import { retryWithBackoff } from "../retry.ts";
import type { ActionHandler } from "./context.ts";
import { logGroupSite, retryOn } from "./log-group.ts";
import { failureOf } from "./run-state.ts";

type AssociateKmsKey = Extract<Action, { kind: "associate-kms-key" }>;

/**
 * AssociateKmsKey: a log group flowlog-guard manages gets its region's key back (after a
 * DisassociateKmsKey, or a group created before the key was configured). The group is read again
 * right before the change: one already on the key is left as it is, and the record's `before` is
 * the key the group had at that moment. Only events ingested from then on are encrypted with it.
 */
export const associateKmsKey: ActionHandler<AssociateKmsKey> = {
  scope: "region",
  run: async (context, action) => {
    const site = logGroupSite(context, action);
    try {
      const current = (await readLogGroups(context.clients, action.logGroupName)).find(
        (group) => group.name === action.logGroupName,
      );
      if (!current) throw new Error(`log group ${action.logGroupName} no longer exists`);
      if (current.kmsKeyId === action.kmsKeyArn) {
        context.state.settle(action, site, { status: "unchanged" });
        return;
      }
      await retryWithBackoff(
        () =>
          context.clients.logs.send(
            new AssociateKmsKeyCommand({ logGroupName: action.logGroupName, kmsKeyId: action.kmsKeyArn }),
          ),
        retryOn(context, ["OperationAbortedException"]),
      );
      context.state.settle(action, site, {
        status: "applied",
        before: { kmsKeyId: current.kmsKeyId ?? null },
        after: { kmsKeyId: action.kmsKeyArn },
      });
    } catch (error) {
      context.state.settle(action, site, failureOf(error));
    }
  },
};
