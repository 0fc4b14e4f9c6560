import { buildEventPatterns, eventNamesOf, parsePolicy, splitDelayedEvents } from "@flowlog-guard/core/data";
import { beforeAll, describe, expect, it } from "vitest";
import { type Recorded, recordResources } from "./pulumi-mocks.ts";

const { ofType } = recordResources();

const DLQ = {
  arn: "arn:aws:sqs:eu-west-1:111122223333:RemediationDlq",
  url: "https://sqs.eu-west-1.amazonaws.com/111122223333/RemediationDlq",
};
const pattern = (resource: Recorded) => JSON.parse(resource.inputs.eventPattern as string);

beforeAll(async () => {
  const wiring = await import("../wiring.ts");
  const { immediate, delayed } = splitDelayedEvents(buildEventPatterns(parsePolicy({})), 60);
  const queue = wiring.createDelayQueue({
    name: "CreateVpcDelay",
    graceSeconds: 60,
    deadLetterQueueArn: DLQ.arn,
  });
  const route = wiring.routeDelayedEvents({
    name: "RemediateDelayed",
    pattern: delayed!,
    queue,
    functionName: "Remediate",
    deadLetterQueueArn: DLQ.arn,
  });
  wiring.createHomeRules({
    name: "Remediate",
    patterns: immediate,
    functionArn: "arn:aws:lambda:eu-west-1:111122223333:function:Remediate",
    functionName: "Remediate",
    deadLetterQueue: DLQ,
    otherRuleArns: [route.rule.arn],
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
});

describe("CreateVpc grace period: rule -> SQS delay queue -> remediate (batches)", () => {
  it("the delay queue holds each message for the grace period and gives up to the DLQ after 3 receives", () => {
    const [queue] = ofType("aws:sqs/queue:Queue");
    expect(queue!.inputs).toMatchObject({
      delaySeconds: 60,
      visibilityTimeoutSeconds: 1_080,
      sqsManagedSseEnabled: true,
    });
    expect(JSON.parse(queue!.inputs.redrivePolicy as string)).toEqual({
      deadLetterTargetArn: DLQ.arn,
      maxReceiveCount: 3,
    });
  });

  it("CreateVpc goes only to the delayed rule; the EC2 rule keeps acting at once on the rest", () => {
    const rules = ofType("aws:cloudwatch/eventRule:EventRule");
    const delayedRule = rules.find((rule) => rule.name === "RemediateDelayedRule")!;
    const ec2Rule = rules.find((rule) => rule.name === "RemediateEc2Rule")!;
    expect(eventNamesOf(pattern(delayedRule))).toEqual(["CreateVpc"]);
    expect(eventNamesOf(pattern(ec2Rule))).not.toContain("CreateVpc");
    expect(eventNamesOf(pattern(ec2Rule))).toContain("DeleteFlowLogs");
    const target = ofType("aws:cloudwatch/eventTarget:EventTarget").find(
      (t) => t.name === "RemediateDelayedTarget",
    )!;
    expect(target.inputs).toMatchObject({
      arn: "arn:aws:mock:eu-west-1:111122223333:CreateVpcDelay",
      deadLetterConfig: { arn: DLQ.arn },
    });
  });

  it("the function reads the queue in batches and answers batchItemFailures", () => {
    const [mapping] = ofType("aws:lambda/eventSourceMapping:EventSourceMapping");
    expect(mapping!.inputs).toMatchObject({
      eventSourceArn: "arn:aws:mock:eu-west-1:111122223333:CreateVpcDelay",
      functionName: "Remediate",
      batchSize: 10,
      functionResponseTypes: ["ReportBatchItemFailures"],
    });
  });

  it("EventBridge may send to the delay queue from the delayed rule only, and to the DLQ from every home rule", () => {
    const policies = ofType("aws:sqs/queuePolicy:QueuePolicy");
    const sources = (name: string) =>
      JSON.parse(policies.find((policy) => policy.name === name)!.inputs.policy as string).Statement[0]
        .Condition.ArnEquals["aws:SourceArn"];
    expect(sources("RemediateDelayedQueuePolicy")).toEqual([
      "arn:aws:mock:eu-west-1:111122223333:RemediateDelayedRule",
    ]);
    expect(sources("RemediateDlqPolicy")).toContain(
      "arn:aws:mock:eu-west-1:111122223333:RemediateDelayedRule",
    );
    expect(sources("RemediateDlqPolicy")).toHaveLength(4);
  });
});
