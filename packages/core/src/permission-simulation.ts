import type { PolicyDocument, PolicyStatement } from "./policy-documents.ts";

/** One SimulatePrincipalPolicy request, without the principal: a statement's actions on its resources. */
export interface SimulationRequest {
  /** The statement it checks (its Sid), for messages. */
  statement: string;
  ActionNames: string[];
  /** Concrete resources like the ones the calls name; absent for `*` (the simulator's default). */
  ResourceArns?: string[];
  /** The request context the real calls carry, for the statement's conditions. */
  ContextEntries?: { ContextKeyName: string; ContextKeyValues: string[]; ContextKeyType: "string" }[];
}

/** Ids that look like the ones real calls name (the simulator matches ARNs, not existence). */
const SAMPLE = {
  vpc: "vpc-0123456789abcdef0",
  flowLog: "fl-0123456789abcdef0",
  name: "flowlog-guard-doctor",
};

/**
 * An ARN the policy's resource pattern covers, as a real call would name it: the region wildcard
 * becomes the region, `vpc/*` a VPC, `vpc-flow-log/*` a flow log, `vpc-*` in a log group name a VPC
 * id. A trailing `:*` (the log-stream form of a log group) adds nothing and is dropped.
 */
export function sampleResourceArn(pattern: string, region: string): string | undefined {
  if (pattern === "*" || pattern.endsWith(":*")) return undefined;
  const parts = pattern.split(":");
  if (parts.length > 3 && parts[3] === "*") parts[3] = region;
  return parts
    .join(":")
    .replace(/vpc-flow-log\/\*/g, `vpc-flow-log/${SAMPLE.flowLog}`)
    .replace(/vpc\/\*/g, `vpc/${SAMPLE.vpc}`)
    .replace(/vpc-\*/g, SAMPLE.vpc)
    .replace(/\*/g, SAMPLE.name);
}

function contextEntriesOf(statement: PolicyStatement): SimulationRequest["ContextEntries"] {
  const entries = Object.values(statement.Condition ?? {}).flatMap((keys) =>
    Object.entries(keys).map(([key, values]) => ({
      ContextKeyName: key,
      ContextKeyValues: [values].flat(),
      ContextKeyType: "string" as const,
    })),
  );
  return entries.length > 0 ? entries : undefined;
}

/**
 * The SimulatePrincipalPolicy requests that check a policy document as AWS evaluates the real calls:
 * one per statement, with resource ARNs like the calls name and the context its conditions test
 * (`ec2:CreateAction = CreateFlowLogs` for tag-on-create). Without them the simulator evaluates
 * every action on `*` with no context, so a conditioned action shows as denied when it is not.
 *
 * @example simulationRequests(servicePolicyDocument(options), "eu-west-1")[2].ContextEntries
 */
export function simulationRequests(document: PolicyDocument, region: string): SimulationRequest[] {
  return document.Statement.filter((statement) => statement.Effect === "Allow").map((statement, index) => {
    const resources = [
      ...new Set(
        [statement.Resource ?? "*"]
          .flat()
          .map((pattern) => sampleResourceArn(pattern, region))
          .filter((arn): arn is string => arn !== undefined),
      ),
    ];
    const context = contextEntriesOf(statement);
    return {
      statement: statement.Sid ?? `statement ${index + 1}`,
      ActionNames: [statement.Action].flat(),
      ...(resources.length > 0 ? { ResourceArns: resources } : {}),
      ...(context ? { ContextEntries: context } : {}),
    };
  });
}
