import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import { createClientPool } from "@flowlog-guard/core";
import {
  createRemediateHandler,
  type RemediateBatchResult,
  type RemediateResult,
} from "@flowlog-guard/functions/remediate-handler";
import { createRuntime } from "@flowlog-guard/functions/runtime";
import { describe, expect, it } from "vitest";
import { createVpc, flowLogsOf, testPool } from "./support/aws.ts";
import { onlyProfileCredentials, runCli } from "./support/cli.ts";
import { invocationRecord } from "./support/envelopes.ts";
import { FIXTURE_VPC, fixture } from "./support/events.ts";

const REGION = "eu-west-1";

const createVpcEvent = (vpcId: string) => fixture("ec2-create-vpc-cloudformation", { [FIXTURE_VPC]: vpcId });

async function queueCounts(sqs: SQSClient, queueUrl: string) {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return {
    visible: Number(Attributes?.ApproximateNumberOfMessages),
    inFlight: Number(Attributes?.ApproximateNumberOfMessagesNotVisible),
  };
}

describe("the remediate handler takes the envelopes an operator hands it", () => {
  it("handles Lambda's invocation record (a replayed on-failure destination message)", async () => {
    const runtime = await createRuntime({});
    const vpcId = await createVpc(runtime.pool, REGION);

    const result = (await createRemediateHandler(runtime)(
      JSON.stringify(invocationRecord(createVpcEvent(vpcId))),
    )) as RemediateResult;

    expect(result).toMatchObject({ status: "handled", summary: { remediated: 1, failed: 0 } });
    expect(await flowLogsOf(runtime.pool, REGION, vpcId)).toHaveLength(1);
  });

  it("handles an SQS batch and reports only the message it could not handle for a retry", async () => {
    const runtime = await createRuntime({});
    const vpcId = await createVpc(runtime.pool, REGION);
    const record = (messageId: string, body: string) => ({ messageId, body, eventSource: "aws:sqs" });

    const result = (await createRemediateHandler(runtime)({
      Records: [
        record("good", JSON.stringify(createVpcEvent(vpcId))),
        record("bad", JSON.stringify({ ...createVpcEvent(vpcId), account: "999999999999" })),
      ],
    })) as RemediateBatchResult;

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: "bad" }]);
    expect(result.results.map((item) => [item.sqsMessageId, item.outcome])).toEqual([
      ["good", "handled"],
      ["bad", "refused"],
    ]);
    expect(await flowLogsOf(runtime.pool, REGION, vpcId)).toHaveLength(1);
  });
});

describe("flowlog-guard redrive --queue URL (moto SQS)", () => {
  it("replays a dead-letter queue: deletes what it handled, keeps what it refused, exits 3", async () => {
    const pool = testPool();
    const sqs = new SQSClient({ region: REGION });
    const { QueueUrl: queueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "RemediationDlq" }));
    const fromLambda = await createVpc(pool, REGION, {}, "10.1.0.0/16");
    const fromRule = await createVpc(pool, REGION, {}, "10.2.0.0/16");
    const bodies = [
      JSON.stringify(invocationRecord(createVpcEvent(fromLambda))),
      JSON.stringify(createVpcEvent(fromRule)),
      JSON.stringify({ ...createVpcEvent(fromRule), "detail-type": "Something Else" }),
    ];
    for (const body of bodies)
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));

    const result = await runCli(["redrive", "--queue", queueUrl!, "--json"]);

    expect(result.code, result.stderr).toBe(3);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ received: 3, deleted: 2, kept: 1 });
    expect(
      report.messages.find((message: { deleted: boolean }) => !message.deleted).outcomes[0],
    ).toMatchObject({
      outcome: "refused",
      error: expect.stringContaining("detail-type"),
    });
    expect(await flowLogsOf(pool, REGION, fromLambda)).toHaveLength(1);
    expect(await flowLogsOf(pool, REGION, fromRule)).toHaveLength(1);
    // The refused message is still in the queue (invisible while its visibility timeout runs).
    expect(await queueCounts(sqs, queueUrl!)).toEqual({ visible: 0, inFlight: 1 });
  });

  it("an empty queue: nothing to do, exit 0; a bad URL: exit 2 with the expected form", async () => {
    const sqs = new SQSClient({ region: REGION });
    const { QueueUrl: queueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "Empty" }));

    const empty = await runCli(["redrive", "--queue", queueUrl!]);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toContain("0 message(s) received, 0 handled and deleted, 0 kept in the queue");

    const bad = await runCli(["redrive", "--queue", "RemediationDlq"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--queue takes the dead-letter queue's URL, like https://sqs.");
    const left = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 0 }));
    expect(left.Messages ?? []).toEqual([]);
  });
});

describe("redrive reaches the queue with the command's AWS access options", () => {
  it("--role-arn: reads the role's account's queue and fixes that account's VPC", async () => {
    const role = "arn:aws:iam::111122223333:role/flowlog-guard-operator";
    const credentials = fromTemporaryCredentials({
      params: { RoleArn: role, RoleSessionName: "test" },
      clientConfig: { region: REGION },
    });
    const member = createClientPool({ apiRate: 0, credentials });
    const sqs = new SQSClient({ region: REGION, credentials });
    const { QueueUrl: queueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "RemediationDlq" }));
    expect(queueUrl).toContain("/111122223333/");
    const vpcId = await createVpc(member, REGION);
    const event = fixture("ec2-create-vpc-cloudformation", {
      [FIXTURE_VPC]: vpcId,
      "123456789012": "111122223333",
    });
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(event) }));

    const result = await runCli(["redrive", "--queue", queueUrl!, "--role-arn", role, "--json"]);

    expect(result.code, result.stdout).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ received: 1, deleted: 1, kept: 0 });
    expect(await flowLogsOf(member, REGION, vpcId)).toHaveLength(1);
    expect(await queueCounts(sqs, queueUrl!)).toEqual({ visible: 0, inFlight: 0 });
  });

  it("--profile: the queue is read with the profile's keys (no keys in the environment)", async () => {
    const { QueueUrl: queueUrl } = await new SQSClient({ region: REGION }).send(
      new CreateQueueCommand({ QueueName: "ProfileDlq" }),
    );
    const env = await onlyProfileCredentials("ops");

    const withProfile = await runCli(["redrive", "--queue", queueUrl!, "--profile", "ops", "--json"], {
      env,
    });
    const without = await runCli(["redrive", "--queue", queueUrl!, "--json"], { env });

    expect(withProfile.code, withProfile.stderr).toBe(0);
    expect(JSON.parse(withProfile.stdout)).toMatchObject({ received: 0, kept: 0 });
    // The same run without --profile has no credentials at all: proof the flag is what made it work.
    expect(without.code).not.toBe(0);
  });
});

describe("handle-event takes CloudTrail Event history", () => {
  it("handles `aws cloudtrail lookup-events` output (CloudTrailEvent strings) and fixes each VPC", async () => {
    const pool = testPool();
    const vpcIds = [
      await createVpc(pool, REGION, {}, "10.3.0.0/16"),
      await createVpc(pool, REGION, {}, "10.4.0.0/16"),
    ];
    const lookup = {
      Events: vpcIds.map((vpcId) => {
        const record = createVpcEvent(vpcId).detail as { eventID: string };
        return { EventId: record.eventID, EventName: "CreateVpc", CloudTrailEvent: JSON.stringify(record) };
      }),
    };

    const result = await runCli(["handle-event", "-", "--json"], { stdin: JSON.stringify(lookup) });

    expect(result.code, result.stderr).toBe(0);
    const outcomes = JSON.parse(result.stdout).results as { outcome: string; via: string[] }[];
    expect(outcomes.map((item) => item.outcome)).toEqual(["handled", "handled"]);
    expect(outcomes[0]!.via).toEqual(["json-string", "cloudtrail-lookup-events", "cloudtrail-record"]);
    for (const vpcId of vpcIds) expect(await flowLogsOf(pool, REGION, vpcId)).toHaveLength(1);
  });
});
