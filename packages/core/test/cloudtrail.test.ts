import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { asList, parseCloudTrailEvent } from "../src/cloudtrail.ts";
import { EventValidationError } from "../src/errors.ts";

const fixturesDir = new URL("../../../test/fixtures/cloudtrail/", import.meta.url);
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`${name}.json`, fixturesDir), "utf8"));
const VPC = "vpc-0a71e831cb5152c43";

describe("parseCloudTrailEvent over the fixture set", () => {
  it.each([
    [
      "ec2-create-vpc-root-console-v1.05",
      { scope: "vpcs", vpcIds: [VPC] },
      { type: "Root", arn: "arn:aws:iam::123456789012:root" },
    ],
    ["ec2-create-vpc-assumed-role-with-tags", { scope: "vpcs", vpcIds: [VPC] }, { type: "AssumedRole" }],
    ["ec2-create-default-vpc", { scope: "vpcs", vpcIds: [VPC] }, { type: "AssumedRole" }],
    [
      "ec2-create-subnet",
      { scope: "subnets", subnetIds: ["subnet-0b5e1c2d3f4a59687"], vpcIds: [VPC] },
      { type: "AssumedRole" },
    ],
    [
      "ec2-create-default-subnet",
      { scope: "subnets", subnetIds: ["subnet-0c6f2d3e4a5b6978a"], vpcIds: [VPC] },
      { type: "AssumedRole" },
    ],
    [
      "ec2-create-vpc-cloudformation",
      { scope: "vpcs", vpcIds: [VPC] },
      { invokedBy: "cloudformation.amazonaws.com" },
    ],
    [
      "ec2-delete-flow-logs-single",
      { scope: "region", flowLogIds: ["fl-07a9b55570fe770b6"] },
      { type: "IAMUser" },
    ],
    [
      "ec2-delete-flow-logs-multiple",
      { scope: "region", flowLogIds: ["fl-0aaaaaaaaaaaaaaaa", "fl-0bbbbbbbbbbbbbbbb"] },
      { roleArn: expect.stringContaining(":role/aws-reserved/sso.amazonaws.com/") },
    ],
    [
      "ec2-delete-flow-logs-partial-failure",
      { scope: "region", flowLogIds: ["fl-0ccccccccccccccc1", "fl-0ccccccccccccccc2"] },
      {},
    ],
    ["ec2-create-tags-exception", { scope: "vpcs", vpcIds: [VPC] }, { invokedBy: "signin.amazonaws.com" }],
    [
      "ec2-create-tags-name-only",
      { scope: "none", reason: expect.stringContaining("no flowlog-guard:exception-") },
      {},
    ],
    [
      "ec2-create-tags-not-a-vpc",
      { scope: "subnets", subnetIds: ["subnet-0123456789abcdef0"], vpcIds: [] },
      {},
    ],
    ["ec2-delete-tags-exception", { scope: "vpcs", vpcIds: [VPC] }, {}],
    [
      "ec2-delete-tags-all-by-service",
      { scope: "vpcs", vpcIds: [VPC] },
      { type: "AWSService", invokedBy: "ec2.amazonaws.com" },
    ],
    ["logs-delete-log-group", { scope: "log-group", logGroupName: `/aws/vpc-flow-logs/${VPC}` }, {}],
    ["logs-put-retention-policy", { scope: "log-group", logGroupName: `/aws/vpc-flow-logs/${VPC}` }, {}],
    ["logs-delete-retention-policy", { scope: "log-group", logGroupName: `/aws/vpc-flow-logs/${VPC}` }, {}],
    ["logs-disassociate-kms-key", { scope: "log-group", logGroupName: `/aws/vpc-flow-logs/${VPC}` }, {}],
    [
      "logs-put-retention-policy-by-flowlog-guard",
      { scope: "log-group", logGroupName: `/aws/vpc-flow-logs/${VPC}` },
      {},
    ],
    ["iam-delete-role", { scope: "role", roleName: "flowlog-guard-delivery" }, {}],
    ["iam-delete-role-policy", { scope: "role", roleName: "flowlog-guard-delivery" }, {}],
    ["iam-put-role-policy", { scope: "role", roleName: "flowlog-guard-delivery" }, {}],
    [
      "iam-detach-role-policy-by-sso",
      { scope: "role", roleName: "flowlog-guard-delivery" },
      { invokedBy: "sso.amazonaws.com" },
    ],
    ["iam-update-assume-role-policy", { scope: "role", roleName: "flowlog-guard-delivery" }, {}],
    [
      "iam-attach-role-policy-by-cloudformation",
      { scope: "role", roleName: "flowlog-guard-delivery" },
      { type: "AssumedRole", invokedBy: "cloudformation.amazonaws.com" },
    ],
    [
      "iam-put-role-permissions-boundary",
      { scope: "role", roleName: "flowlog-guard-delivery" },
      { type: "IAMUser" },
    ],
    [
      "iam-delete-role-other-role",
      { scope: "role", roleName: "some-app-role" },
      { accountId: "123456789012" },
    ],
  ])("%s", (name, target, actor) => {
    const event = fixture(name);
    const parsed = parseCloudTrailEvent(event);
    expect(parsed.target).toEqual(target);
    expect(parsed.actor).toMatchObject(actor);
    expect(parsed).toMatchObject({
      eventId: event.detail.eventID,
      account: "123456789012",
      region: event.region,
    });
  });

  it("covers every fixture file", () => {
    const files = readdirSync(fixturesDir).filter((file) => file.endsWith(".json"));
    expect(files.length).toBe(28);
    for (const file of files.filter((f) => !f.includes("failed"))) {
      expect(() => parseCloudTrailEvent(fixture(file.replace(".json", "")))).not.toThrow();
    }
  });

  it("reads CreateDefaultVpc's new VPC in EC2's wrapped dialect too", () => {
    const event = fixture("ec2-create-default-vpc");
    event.detail.responseElements = { CreateDefaultVpcResponse: event.detail.responseElements };
    expect(parseCloudTrailEvent(event).target).toEqual({ scope: "vpcs", vpcIds: [VPC] });
  });

  it("reads CreateSubnet's subnet in the wrapped dialect too, and re-reads the region when the VPC id is missing", () => {
    const event = fixture("ec2-create-subnet");
    event.detail.responseElements = { CreateSubnetResponse: event.detail.responseElements };
    expect(parseCloudTrailEvent(event).target).toEqual({
      scope: "subnets",
      subnetIds: ["subnet-0b5e1c2d3f4a59687"],
      vpcIds: [VPC],
    });
    const noVpc = fixture("ec2-create-default-subnet");
    delete noVpc.detail.responseElements.subnet.vpcId;
    expect(parseCloudTrailEvent(noVpc).target).toEqual({
      scope: "subnets",
      subnetIds: ["subnet-0c6f2d3e4a5b6978a"],
      vpcIds: [],
    });
  });

  it("accepts the event as a JSON string (an SQS or SNS body)", () => {
    const parsed = parseCloudTrailEvent(JSON.stringify(fixture("ec2-create-vpc-cloudformation")));
    expect(parsed.target).toEqual({ scope: "vpcs", vpcIds: [VPC] });
  });
});

describe("parseCloudTrailEvent rejects what it does not handle, naming the field", () => {
  const base = () => fixture("ec2-create-vpc-assumed-role-with-tags");
  it.each([
    ["a failed call", () => fixture("ec2-create-vpc-failed"), "detail.errorCode"],
    [
      "another detail-type",
      () => ({ ...base(), "detail-type": "EC2 Instance State-change Notification" }),
      "detail-type",
    ],
    ["another source", () => ({ ...base(), source: "aws.s3" }), "source"],
    ["a custom source claiming to be CloudTrail", () => ({ ...base(), source: "my.app" }), "source"],
    [
      "an unhandled call",
      () => ({ ...base(), detail: { ...base().detail, eventName: "DeleteVpc" } }),
      "detail.eventName",
    ],
    [
      "eventSource of another service",
      () => ({ ...base(), detail: { ...base().detail, eventSource: "s3.amazonaws.com" } }),
      "detail.eventSource",
    ],
    ["region disagreeing with awsRegion", () => ({ ...base(), region: "us-west-2" }), "detail.awsRegion"],
    [
      "recipient account disagreeing",
      () => ({ ...base(), detail: { ...base().detail, recipientAccountId: "444455556666" } }),
      "detail.recipientAccountId",
    ],
    ["a malformed account", () => ({ ...base(), account: "12345" }), "account"],
    ["a malformed region", () => ({ ...base(), region: "mars-1" }), "region"],
    ["no eventID", () => ({ ...base(), detail: { ...base().detail, eventID: undefined } }), "detail.eventID"],
    ["no detail", () => ({ ...base(), detail: undefined }), "detail"],
    [
      "a CreateVpc without the new VPC",
      () => ({ ...base(), detail: { ...base().detail, responseElements: { requestId: "x" } } }),
      "detail.responseElements.vpc.vpcId",
    ],
    [
      "a VPC id that is not one",
      () => ({
        ...base(),
        detail: { ...base().detail, responseElements: { vpc: { vpcId: "vpc-$(rm -rf /)" } } },
      }),
      "detail.responseElements.vpc.vpcId",
    ],
    [
      "DeleteFlowLogs without ids",
      () => ({
        ...fixture("ec2-delete-flow-logs-single"),
        detail: {
          ...fixture("ec2-delete-flow-logs-single").detail,
          requestParameters: { DeleteFlowLogsRequest: {} },
        },
      }),
      "detail.requestParameters.DeleteFlowLogsRequest.FlowLogId",
    ],
    [
      "a log event without a log group",
      () => ({
        ...fixture("logs-delete-log-group"),
        detail: { ...fixture("logs-delete-log-group").detail, requestParameters: null },
      }),
      "detail.requestParameters.logGroupName",
    ],
    [
      "a CreateSubnet without the new subnet",
      () => ({
        ...fixture("ec2-create-subnet"),
        detail: { ...fixture("ec2-create-subnet").detail, responseElements: { subnet: { vpcId: VPC } } },
      }),
      "detail.responseElements.subnet.subnetId",
    ],
    [
      "a CreateSubnet whose VPC id is not one",
      () => ({
        ...fixture("ec2-create-subnet"),
        detail: {
          ...fixture("ec2-create-subnet").detail,
          responseElements: { subnet: { subnetId: "subnet-0b5e1c2d3f4a59687", vpcId: "vpc-;x" } },
        },
      }),
      "detail.responseElements.subnet.vpcId",
    ],
    ["not JSON", () => "{not json", "(event)"],
    ["null", () => null, "(event)"],
  ])("%s", (_name, make, field) => {
    let error: unknown;
    try {
      parseCloudTrailEvent(make());
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(EventValidationError);
    expect((error as EventValidationError).field).toBe(field);
    expect((error as Error).message.startsWith(`${field}:`)).toBe(true);
  });
});

describe("asList normalises CloudTrail's list shapes", () => {
  it.each([
    [undefined, []],
    [null, []],
    ["", []],
    [{}, []],
    [{ items: [] }, []],
    [{ items: [1, 2] }, [1, 2]],
    [{ item: "x" }, ["x"]],
    [{ content: "x", tag: 1 }, [{ content: "x", tag: 1 }]],
    [[1], [1]],
    ["x", ["x"]],
  ])("%j -> %j", (input, expected) => {
    expect(asList(input)).toEqual(expected);
  });
});
