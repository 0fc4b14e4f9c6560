import { runSimulation } from "@cloud-copilot/iam-simulate";
import type { PolicyDocument } from "@flowlog-guard/core";

/**
 * A real IAM policy evaluator (@cloud-copilot/iam-simulate: identity policies, SCPs, condition
 * operators, ARN matching, and validation of actions, resource types and condition keys against
 * AWS's Service Authorization Reference). Used where moto cannot judge a policy.
 */

export const FULL_AWS_ACCESS: PolicyDocument = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }],
};

export interface AuthorizationRequest {
  action: string;
  resource: string;
  /** Condition context: `aws:ResourceTag/...`, `aws:TagKeys`, `ec2:CreateAction`, ... */
  context?: Record<string, string | string[]>;
}

export type Decision = "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied";

/**
 * Decides one request by `principalArn` (a role ARN; `aws:PrincipalArn` is set from it) in `accountId`.
 * Throws when the simulator rejects the request as invalid (an unknown action, a resource of the wrong
 * type, a context key the action does not take), so a typo cannot pass as a denial.
 */
export async function decide(
  request: AuthorizationRequest,
  options: {
    principalArn: string;
    accountId: string;
    identityPolicy?: PolicyDocument;
    scp?: PolicyDocument;
    /** The resource's own policy (a KMS key policy: without one delegating to the account, IAM grants nothing). */
    resourcePolicy?: PolicyDocument;
  },
): Promise<Decision> {
  const result = await runSimulation(
    {
      request: {
        principal: options.principalArn,
        action: request.action,
        resource: { resource: request.resource, accountId: options.accountId },
        contextVariables: { "aws:PrincipalArn": options.principalArn, ...request.context },
      },
      identityPolicies: [{ name: "identity", policy: options.identityPolicy ?? FULL_AWS_ACCESS }],
      serviceControlPolicies: [
        {
          orgIdentifier: "r-root",
          policies: [
            { name: "FullAWSAccess", policy: FULL_AWS_ACCESS },
            ...(options.scp ? [{ name: "flowlog-guard-guardrails", policy: options.scp }] : []),
          ],
        },
      ],
      resourceControlPolicies: [],
      ...(options.resourcePolicy ? { resourcePolicy: options.resourcePolicy } : {}),
    },
    {},
  );
  if (result.resultType === "error") {
    throw new Error(
      `The evaluator rejected ${request.action} on ${request.resource}: ${JSON.stringify(result.errors)}`,
    );
  }
  return result.overallResult as Decision;
}
