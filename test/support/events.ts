import { readFileSync } from "node:fs";
import { buildEventPatterns, type ClientPool, IAM_EVENTS_REGION, type Policy } from "@flowlog-guard/core";
import { captureDefaultBusRules, putEnvelope } from "@flowlog-guard/emulator";

const fixturesDir = new URL("../fixtures/cloudtrail/", import.meta.url);

/** A CloudTrail fixture with ids swapped for real ones: `fixture("x", { "vpc-0a71e831cb5152c43": vpcId })`. */
export function fixture(name: string, replacements: Record<string, string> = {}): Record<string, unknown> {
  let text = readFileSync(new URL(`${name}.json`, fixturesDir), "utf8");
  for (const [from, to] of Object.entries(replacements)) text = text.replaceAll(from, to);
  return JSON.parse(text);
}

/** The fixtures' VPC id and flow log id, for `fixture(name, { [FIXTURE_VPC]: realId })`. */
export const FIXTURE_VPC = "vpc-0a71e831cb5152c43";
export const FIXTURE_FLOW_LOG = "fl-07a9b55570fe770b6";

export interface DeployedRules {
  /** Events that matched a rule, in arrival order (read from the rules' SQS targets). */
  drain(): Promise<Record<string, unknown>[]>;
}

/**
 * Creates the remediation rules from core's pattern data, as the stacks do: EC2 and Logs rules on the
 * default bus of each region, the IAM rule on us-east-1's, each with an SQS queue as target.
 */
export function deployRules(_pool: ClientPool, policy: Policy, regions: string[]): Promise<DeployedRules> {
  const patterns = buildEventPatterns(policy);
  return captureDefaultBusRules([
    ...regions.flatMap((region) => [
      { region, pattern: patterns.ec2, name: `fg-ec2-${region}` },
      { region, pattern: patterns.logs, name: `fg-logs-${region}` },
    ]),
    { region: IAM_EVENTS_REGION, pattern: patterns.iam, name: "fg-iam" },
  ]);
}

/** Puts a CloudTrail-shaped event on the region's default bus, as CloudTrail does. */
export async function putCloudTrailEvent(_pool: ClientPool, event: Record<string, unknown>): Promise<void> {
  await putEnvelope(event);
}
