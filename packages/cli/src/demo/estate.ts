import { CreateLogGroupCommand } from "@aws-sdk/client-cloudwatch-logs";
import {
  AttachInternetGatewayCommand,
  CreateFlowLogsCommand,
  CreateInternetGatewayCommand,
  CreateVpcCommand,
  DescribeVpcsCommand,
} from "@aws-sdk/client-ec2";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { type ClientPool, EXCEPTION_TAGS } from "@flowlog-guard/core";
import { MOTO_ACCOUNT_ID } from "@flowlog-guard/emulator";

export interface DemoVpc {
  region: string;
  vpcId: string;
  name: string;
  story: string;
}

const DAY = 86_400_000;
const isoDate = (time: number) => new Date(time).toISOString().slice(0, 10);

/** A small estate with one VPC for each case flowlog-guard distinguishes, in two regions. */
export async function buildDemoEstate(pool: ClientPool, now: Date): Promise<DemoVpc[]> {
  const vpcs: DemoVpc[] = [];
  const create = async (
    region: string,
    name: string,
    story: string,
    cidr: string,
    tags: Record<string, string> = {},
  ) => {
    const Tags = Object.entries({ Name: name, ...tags }).map(([Key, Value]) => ({ Key, Value }));
    const response = await pool
      .clientsFor(region)
      .ec2.send(
        new CreateVpcCommand({ CidrBlock: cidr, TagSpecifications: [{ ResourceType: "vpc", Tags }] }),
      );
    const vpcId = response.Vpc!.VpcId!;
    vpcs.push({ region, vpcId, name, story });
    return vpcId;
  };

  const west = "eu-west-1";
  const ec2 = pool.clientsFor(west).ec2;
  const payments = await create(
    west,
    "payments",
    "internet-facing, production, no flow log",
    "10.10.0.0/16",
    {
      Environment: "production",
    },
  );
  const gateway = await ec2.send(new CreateInternetGatewayCommand({}));
  await ec2.send(
    new AttachInternetGatewayCommand({
      InternetGatewayId: gateway.InternetGateway!.InternetGatewayId!,
      VpcId: payments,
    }),
  );

  const analytics = await create(
    west,
    "analytics",
    "its team's own REJECT flow log into CloudWatch Logs",
    "10.11.0.0/16",
  );
  await pool.clientsFor(west).logs.send(new CreateLogGroupCommand({ logGroupName: "analytics-team/flows" }));
  await ec2.send(
    new CreateFlowLogsCommand({
      ResourceIds: [analytics],
      ResourceType: "VPC",
      TrafficType: "REJECT",
      LogGroupName: "analytics-team/flows",
      DeliverLogsPermissionArn: `arn:aws:iam::${MOTO_ACCOUNT_ID}:role/analytics-flow-logs`,
    }),
  );

  const dataLake = await create(west, "data-lake", "ALL-traffic flow log into an S3 bucket", "10.12.0.0/16");
  await new S3Client({ region: west }).send(
    new CreateBucketCommand({
      Bucket: "data-lake-flow-logs",
      CreateBucketConfiguration: { LocationConstraint: west },
    }),
  );
  await ec2.send(
    new CreateFlowLogsCommand({
      ResourceIds: [dataLake],
      ResourceType: "VPC",
      TrafficType: "ALL",
      LogDestinationType: "s3",
      LogDestination: "arn:aws:s3:::data-lake-flow-logs",
    }),
  );

  const until = isoDate(now.getTime() + 30 * DAY);
  await create(west, "sandbox", `exception until ${until}, owner sandbox-team`, "10.13.0.0/16", {
    [EXCEPTION_TAGS.owner]: "sandbox-team",
    [EXCEPTION_TAGS.expires]: until,
    [EXCEPTION_TAGS.reason]: "short-lived experiments",
  });
  const expired = isoDate(now.getTime() - 14 * DAY);
  await create(west, "legacy", `exception that expired on ${expired}`, "10.14.0.0/16", {
    [EXCEPTION_TAGS.owner]: "legacy-team",
    [EXCEPTION_TAGS.expires]: expired,
  });
  await create("us-east-1", "shared-services", "no flow log", "10.20.0.0/16");

  for (const region of [west, "us-east-1"]) {
    const defaults = await pool
      .clientsFor(region)
      .ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: "is-default", Values: ["true"] }] }));
    for (const vpc of defaults.Vpcs ?? [])
      vpcs.push({ region, vpcId: vpc.VpcId!, name: "(default VPC)", story: "no flow log" });
  }
  return vpcs;
}

/** A CloudTrail record as EventBridge delivers it, for the demo's simulated API calls. */
export function cloudTrailEnvelope(input: {
  source: "aws.ec2";
  region: string;
  eventName: string;
  requestParameters: unknown;
  responseElements: unknown;
  user: string;
}): Record<string, unknown> {
  const time = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  return {
    version: "0",
    "detail-type": "AWS API Call via CloudTrail",
    source: input.source,
    account: MOTO_ACCOUNT_ID,
    region: input.region,
    time,
    resources: [],
    detail: {
      eventVersion: "1.10",
      userIdentity: {
        type: "IAMUser",
        principalId: "AIDADEMO",
        arn: `arn:aws:iam::${MOTO_ACCOUNT_ID}:user/${input.user}`,
        accountId: MOTO_ACCOUNT_ID,
        userName: input.user,
      },
      eventTime: time,
      eventSource: "ec2.amazonaws.com",
      eventName: input.eventName,
      awsRegion: input.region,
      sourceIPAddress: "198.51.100.7",
      userAgent: "aws-cli/2.17.60",
      requestParameters: input.requestParameters,
      responseElements: input.responseElements,
      requestID: crypto.randomUUID(),
      eventID: crypto.randomUUID(),
      readOnly: false,
      eventType: "AwsApiCall",
      managementEvent: true,
      recipientAccountId: MOTO_ACCOUNT_ID,
      eventCategory: "Management",
    },
  };
}
