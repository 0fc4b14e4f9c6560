import { readFileSync } from "node:fs";
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { buildEventPatterns, type ClientPool, IAM_EVENTS_REGION, type Policy } from "@flowlog-guard/core";
import { createBusToQueue } from "./aws.ts";

const fixturesDir = new URL("../fixtures/cloudtrail/", import.meta.url);
const MOTO_ACCOUNT = "123456789012";

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
export async function deployRules(
  pool: ClientPool,
  policy: Policy,
  regions: string[],
): Promise<DeployedRules> {
  const patterns = buildEventPatterns(policy);
  const queues: { drain: () => Promise<unknown[]> }[] = [];
  for (const region of regions) {
    queues.push(
      await createBusToQueue(pool, region, {
        bus: "default",
        pattern: patterns.ec2,
        name: `fg-ec2-${region}`,
      }),
    );
    queues.push(
      await createBusToQueue(pool, region, {
        bus: "default",
        pattern: patterns.logs,
        name: `fg-logs-${region}`,
      }),
    );
  }
  queues.push(
    await createBusToQueue(pool, IAM_EVENTS_REGION, {
      bus: "default",
      pattern: patterns.iam,
      name: "fg-iam",
    }),
  );
  return {
    async drain() {
      const all: Record<string, unknown>[] = [];
      for (const queue of queues) all.push(...((await queue.drain()) as Record<string, unknown>[]));
      // moto's EventBridge leaves `account` out of the envelope it delivers; real EventBridge always
      // sets it (the account whose bus received the event), so the poller does what EventBridge does.
      return all.map((event) => ({ account: MOTO_ACCOUNT, ...event }));
    },
  };
}

/** Puts a CloudTrail-shaped event on the region's default bus, as CloudTrail does. */
export async function putCloudTrailEvent(pool: ClientPool, event: Record<string, unknown>): Promise<void> {
  const region = event.region as string;
  const response = await pool.clientsFor(region).events.send(
    new PutEventsCommand({
      Entries: [
        {
          Source: event.source as string,
          DetailType: event["detail-type"] as string,
          Detail: JSON.stringify(event.detail),
        },
      ],
    }),
  );
  if (response.FailedEntryCount) throw new Error(`PutEvents failed: ${JSON.stringify(response.Entries)}`);
}
