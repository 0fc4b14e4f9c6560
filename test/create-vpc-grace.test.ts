import { CreateLogGroupCommand } from "@aws-sdk/client-cloudwatch-logs";
import { CreateFlowLogsCommand } from "@aws-sdk/client-ec2";
import { PutRuleCommand, PutTargetsCommand } from "@aws-sdk/client-eventbridge";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { buildEventPatterns, parsePolicy, splitDelayedEvents } from "@flowlog-guard/core";
import { captureDefaultBusRules, MOTO_ACCOUNT_ID } from "@flowlog-guard/emulator";
import {
  createRemediateHandler,
  type RemediateBatchResult,
} from "@flowlog-guard/functions/remediate-handler";
import { createRuntime } from "@flowlog-guard/functions/runtime";
import { describe, expect, it } from "vitest";
import { createVpc, flowLogsOf } from "./support/aws.ts";
import { FIXTURE_VPC, fixture, putCloudTrailEvent } from "./support/events.ts";

const REGION = "eu-west-1";
/** Short enough for a test; the deployed default is 60 s. */
const GRACE_SECONDS = 3;

/**
 * The home wiring of the stacks on moto: the immediate rules invoke the handler (here: queues read by
 * the test), CreateVpc goes to an SQS delay queue whose messages the handler gets as a batch.
 */
async function deployWithGrace(graceSeconds: number) {
  const policy = parsePolicy({ createVpcGraceSeconds: graceSeconds });
  const { immediate, delayed } = splitDelayedEvents(buildEventPatterns(policy), graceSeconds);
  const rules = await captureDefaultBusRules([
    { region: REGION, pattern: immediate.ec2, name: "grace-ec2" },
    { region: REGION, pattern: immediate.logs, name: "grace-logs" },
  ]);
  const sqs = new SQSClient({ region: REGION });
  const queueUrl = (
    await sqs.send(
      new CreateQueueCommand({
        QueueName: "create-vpc-delay",
        Attributes: { DelaySeconds: String(graceSeconds) },
      }),
    )
  ).QueueUrl!;
  const queueArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }))
  ).Attributes!.QueueArn!;
  await sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl: queueUrl,
      Attributes: {
        Policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { Service: "events.amazonaws.com" },
              Action: "sqs:SendMessage",
              Resource: queueArn,
            },
          ],
        }),
      },
    }),
  );
  const { EventBridgeClient } = await import("@aws-sdk/client-eventbridge");
  const events = new EventBridgeClient({ region: REGION });
  if (delayed) {
    await events.send(new PutRuleCommand({ Name: "grace-delayed", EventPattern: JSON.stringify(delayed) }));
    await events.send(
      new PutTargetsCommand({ Rule: "grace-delayed", Targets: [{ Id: "q", Arn: queueArn }] }),
    );
  }
  /** What an SQS event source mapping would hand the function now: the visible messages, as a batch. */
  async function visibleBatch() {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    return {
      Records: Messages.map((message) => ({
        messageId: message.MessageId!,
        // moto's EventBridge leaves `account` out of the envelope; real EventBridge sets it.
        body: JSON.stringify({ account: MOTO_ACCOUNT_ID, ...JSON.parse(message.Body!) }),
        eventSource: "aws:sqs",
      })),
    };
  }
  return { rules, visibleBatch, policy };
}

/** The customer's own flow log, as Terraform's aws_flow_log would add it seconds after the VPC. */
async function addOwnFlowLog(runtime: Awaited<ReturnType<typeof createRuntime>>, vpcId: string) {
  const clients = runtime.pool.clientsFor(REGION);
  await clients.logs.send(new CreateLogGroupCommand({ logGroupName: `/terraform/${vpcId}` }));
  await clients.ec2.send(
    new CreateFlowLogsCommand({
      ResourceIds: [vpcId],
      ResourceType: "VPC",
      TrafficType: "ALL",
      LogDestinationType: "cloud-watch-logs",
      LogGroupName: `/terraform/${vpcId}`,
      DeliverLogsPermissionArn: "arn:aws:iam::123456789012:role/terraform-flow-logs",
    }),
  );
}

describe("createVpcGraceSeconds: infrastructure as code that adds its own flow log is left alone", () => {
  it("a VPC that gets its own flow log inside the window keeps only that one; one that does not is fixed", async () => {
    const env = await deployWithGrace(GRACE_SECONDS);
    const runtime = await createRuntime({ FLOWLOG_GUARD_CREATE_VPC_GRACE_SECONDS: String(GRACE_SECONDS) });
    const byTerraform = await createVpc(runtime.pool, REGION, {}, "10.5.0.0/16");
    const byHand = await createVpc(runtime.pool, REGION, {}, "10.6.0.0/16");
    for (const vpcId of [byTerraform, byHand])
      await putCloudTrailEvent(
        runtime.pool,
        fixture("ec2-create-vpc-cloudformation", { [FIXTURE_VPC]: vpcId }),
      );

    // Inside the window: nothing reaches the function, neither through the immediate rules nor the queue.
    expect(await env.rules.drain()).toEqual([]);
    expect((await env.visibleBatch()).Records).toEqual([]);
    await addOwnFlowLog(runtime, byTerraform);

    await new Promise((resolve) => setTimeout(resolve, (GRACE_SECONDS + 1) * 1000));
    const batch = await env.visibleBatch();
    expect(batch.Records).toHaveLength(2);
    const result = (await createRemediateHandler(runtime)(batch)) as RemediateBatchResult;

    expect(result.batchItemFailures).toEqual([]);
    const terraformLogs = await flowLogsOf(runtime.pool, REGION, byTerraform);
    expect(terraformLogs.map((flowLog) => flowLog.LogGroupName)).toEqual([`/terraform/${byTerraform}`]);
    expect(await flowLogsOf(runtime.pool, REGION, byHand)).toHaveLength(1);
    const statuses = Object.fromEntries(
      result.results.flatMap((item) => item.result?.vpcs?.map((vpc) => [vpc.vpcId, vpc.status]) ?? []),
    );
    expect(statuses).toEqual({ [byTerraform]: "compliant", [byHand]: "remediated" });
  });

  it("0 keeps today's behaviour: CreateVpc reaches the function at once through the EC2 rule", async () => {
    const env = await deployWithGrace(0);
    const runtime = await createRuntime({ FLOWLOG_GUARD_CREATE_VPC_GRACE_SECONDS: "0" });
    const vpcId = await createVpc(runtime.pool, REGION);
    await putCloudTrailEvent(
      runtime.pool,
      fixture("ec2-create-vpc-cloudformation", { [FIXTURE_VPC]: vpcId }),
    );

    const matched = await env.rules.drain();

    expect(matched.map((event) => (event.detail as { eventName: string }).eventName)).toEqual(["CreateVpc"]);
  });
});
