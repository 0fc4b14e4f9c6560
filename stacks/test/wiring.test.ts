import { buildEventPatterns, parsePolicy } from "@flowlog-guard/core/data";
import { beforeAll, describe, expect, it } from "vitest";
import { recordResources } from "./pulumi-mocks.ts";

const { ofType } = recordResources();

const patterns = buildEventPatterns(parsePolicy({}));
const HOME_BUS = "arn:aws:events:eu-west-1:111122223333:event-bus/default";
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

beforeAll(async () => {
  const wiring = await import("../wiring.ts");
  wiring.createForwarders({
    name: "CloudTrail",
    watchedRegions: ["eu-west-1", "us-west-2"],
    homeRegion: "eu-west-1",
    homeBusArn: HOME_BUS,
    accountId: "111122223333",
    patterns,
    retain: true,
  });
  wiring.createHomeRules({
    name: "Remediate",
    patterns,
    functionArn: "arn:aws:lambda:eu-west-1:111122223333:function:Remediate",
    functionName: "Remediate",
    deadLetterQueue: {
      arn: "arn:aws:sqs:eu-west-1:111122223333:RemediationDlq",
      url: "https://sqs.eu-west-1.amazonaws.com/111122223333/RemediationDlq",
    },
  });
  wiring.createChangeRecordArchive({
    name: "ChangeRecordsArchive",
    busArn: "arn:aws:events:eu-west-1:111122223333:event-bus/ChangeRecords",
    retain: true,
  });
  await settle();
});

describe("forwarders (every watched region but home, and us-east-1 always)", () => {
  const forwardRules = () =>
    ofType("aws:cloudwatch/eventRule:EventRule").filter((rule) => rule.name.startsWith("CloudTrailForward"));

  it("puts EC2 and Logs rules in each forwarding region, the IAM rule only in us-east-1, none in home", () => {
    const byRegion = forwardRules().map(
      (rule) => `${rule.inputs.region}:${JSON.parse(rule.inputs.eventPattern as string).source[0]}`,
    );
    expect(byRegion.sort()).toEqual(
      [
        "us-east-1:aws.ec2",
        "us-east-1:aws.logs",
        "us-east-1:aws.iam",
        "us-west-2:aws.ec2",
        "us-west-2:aws.logs",
      ].sort(),
    );
  });

  it("uses core's pattern data unchanged, on the default bus", () => {
    for (const rule of forwardRules()) {
      const pattern = JSON.parse(rule.inputs.eventPattern as string);
      const kind = pattern.source[0].replace("aws.", "") as "ec2" | "logs" | "iam";
      expect(pattern).toEqual(patterns[kind]);
      expect(rule.inputs.eventBusName).toBe("default");
    }
  });

  it("targets the home bus with the forward role and a dead-letter queue in the rule's own region", () => {
    const targets = ofType("aws:cloudwatch/eventTarget:EventTarget").filter((target) =>
      target.name.startsWith("CloudTrailForward"),
    );
    expect(targets).toHaveLength(5);
    for (const target of targets) {
      expect(target.inputs.arn).toBe(HOME_BUS);
      expect(target.inputs.roleArn).toBe("arn:aws:mock:eu-west-1:111122223333:CloudTrailForwardRole");
      expect((target.inputs.deadLetterConfig as { arn: string }).arn).toContain(`:${target.inputs.region}:`);
    }
  });

  it("lets the forward role do nothing but put events on the home bus", () => {
    const [policy] = ofType("aws:iam/rolePolicy:RolePolicy");
    expect(JSON.parse(policy!.inputs.policy as string).Statement).toEqual([
      { Effect: "Allow", Action: "events:PutEvents", Resource: HOME_BUS },
    ]);
    const [role] = ofType("aws:iam/role:Role");
    const [trust] = JSON.parse(role!.inputs.assumeRolePolicy as string).Statement;
    expect(trust.Principal).toEqual({ Service: "events.amazonaws.com" });
    // Confused-deputy guard: only rules of the deploying account may use the role.
    expect(trust.Condition).toEqual({ StringEquals: { "aws:SourceAccount": "111122223333" } });
  });

  it("gives each dead-letter queue one policy: EventBridge may send only from that region's rules", () => {
    const policies = ofType("aws:sqs/queuePolicy:QueuePolicy").filter((policy) =>
      policy.name.startsWith("CloudTrailForward"),
    );
    expect(policies.map((policy) => policy.inputs.region).sort()).toEqual(["us-east-1", "us-west-2"]);
    for (const policy of policies) {
      const [statement] = JSON.parse(policy.inputs.policy as string).Statement;
      expect(statement.Principal).toEqual({ Service: "events.amazonaws.com" });
      expect(statement.Action).toBe("sqs:SendMessage");
      const sources = statement.Condition.ArnEquals["aws:SourceArn"] as string[];
      expect(sources.length).toBe(policy.inputs.region === "us-east-1" ? 3 : 2);
      expect(sources.every((arn) => arn.includes(`:${policy.inputs.region}:`))).toBe(true);
    }
  });
});

describe("home rules -> remediate function", () => {
  it("invokes the function for ec2, logs and iam events with a retry policy and a dead-letter queue", () => {
    const targets = ofType("aws:cloudwatch/eventTarget:EventTarget").filter((target) =>
      target.name.startsWith("Remediate"),
    );
    expect(targets).toHaveLength(3);
    for (const target of targets) {
      expect(target.inputs).toMatchObject({
        arn: "arn:aws:lambda:eu-west-1:111122223333:function:Remediate",
        retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86_400 },
        deadLetterConfig: { arn: "arn:aws:sqs:eu-west-1:111122223333:RemediationDlq" },
      });
    }
    const permissions = ofType("aws:lambda/permission:Permission");
    expect(permissions.map((permission) => permission.inputs.principal)).toEqual(
      Array(3).fill("events.amazonaws.com"),
    );
  });
});

describe("change record archive", () => {
  it("keeps flowlog-guard's change records for 365 days", () => {
    const [archive] = ofType("aws:cloudwatch/eventArchive:EventArchive");
    expect(archive!.inputs).toMatchObject({ retentionDays: 365 });
    expect(JSON.parse(archive!.inputs.eventPattern as string)).toEqual({
      source: ["flowlog-guard"],
      "detail-type": ["Flow Log Remediation"],
    });
  });
});
