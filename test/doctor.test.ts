import {
  CloudTrailClient,
  CreateTrailCommand,
  PutEventSelectorsCommand,
  StartLoggingCommand,
} from "@aws-sdk/client-cloudtrail";
import { recordsManagementWrites } from "@flowlog-guard/core";
import { describe, expect, it } from "vitest";
import { createBucket, createVpc, driftDeliveryRoleTrust, run, testPool } from "./support/aws.ts";
import { runCli } from "./support/cli.ts";

const REGIONS = "eu-west-1,us-east-1";

async function createTrail(options: { multiRegion: boolean; logging: boolean; readOnly?: boolean }) {
  const pool = testPool();
  await createBucket(pool, "us-east-1", "trail-bucket");
  const cloudtrail = new CloudTrailClient({ region: "us-east-1" });
  await cloudtrail.send(
    new CreateTrailCommand({
      Name: "org-trail",
      S3BucketName: "trail-bucket",
      IsMultiRegionTrail: options.multiRegion,
    }),
  );
  if (options.readOnly) {
    await cloudtrail.send(
      new PutEventSelectorsCommand({
        TrailName: "org-trail",
        EventSelectors: [{ ReadWriteType: "ReadOnly", IncludeManagementEvents: true }],
      }),
    );
  }
  if (options.logging) await cloudtrail.send(new StartLoggingCommand({ Name: "org-trail" }));
}

describe("flowlog-guard doctor against moto", () => {
  it("fails without a trail, says how to create one, and exits 3", async () => {
    const result = await runCli(["doctor", "--regions", REGIONS], { env: { AWS_REGION: "us-east-1" } });

    expect(result.code).toBe(3);
    expect(result.stdout).toMatch(
      /FAIL {2}CloudTrail trail .*: no logging trail records management writes for eu-west-1, us-east-1/,
    );
    expect(result.stdout).toContain("fix: create a multi-region trail");
    expect(result.stdout).toMatch(/OK {4}credentials: account 123456789012/);
  });

  it.each([
    [{ multiRegion: true, logging: false }, "org-trail is not logging"],
    [
      { multiRegion: true, logging: true, readOnly: true },
      "org-trail does not record management write events",
    ],
    [{ multiRegion: false, logging: true }, "no logging trail records management writes for eu-west-1"],
  ])("fails for a trail %j: %s", async (trail, message) => {
    await createTrail(trail);
    const result = await runCli(["doctor", "--regions", REGIONS], { env: { AWS_REGION: "us-east-1" } });
    expect(result.code).toBe(3);
    expect(result.stdout).toContain(message);
  });

  it("passes with a logging multi-region trail, warns about what fix-all will create, and checks the ledger bus", async () => {
    await createTrail({ multiRegion: true, logging: true });

    const ready = await runCli(["doctor", "--regions", REGIONS, "--json"], {
      env: { AWS_REGION: "us-east-1" },
    });
    expect(ready.code).toBe(0);
    const checks = JSON.parse(ready.stdout).checks as { name: string; status: string }[];
    expect(checks.map((check) => check.status)).toEqual(["ok", "ok", "warn", "warn", "warn"]);

    const missingBus = await runCli(["doctor", "--regions", REGIONS, "--ledger-bus", "nowhere"], {
      env: { AWS_REGION: "us-east-1" },
    });
    expect(missingBus.code).toBe(3);
    expect(missingBus.stdout).toContain(
      "fix: deploy the stack, or create it: aws events create-event-bus --name nowhere --region us-east-1",
    );
  });

  it("fails when the delivery role's trust has drifted", async () => {
    await createTrail({ multiRegion: true, logging: true });
    const pool = testPool();
    await createVpc(pool, "us-east-1");
    await run(pool, { regions: ["us-east-1"] });
    await driftDeliveryRoleTrust(pool.clientsFor("us-east-1").iam);

    const result = await runCli(["doctor", "--regions", REGIONS], { env: { AWS_REGION: "us-east-1" } });
    expect(result.code).toBe(3);
    expect(result.stdout).toMatch(
      /FAIL {2}delivery role flowlog-guard-delivery: its trust policy is not the one flow logs need/,
    );
  });
});

describe("recordsManagementWrites", () => {
  it.each([
    [{}, true],
    [{ EventSelectors: [{ ReadWriteType: "All" as const, IncludeManagementEvents: true }] }, true],
    [{ EventSelectors: [{ ReadWriteType: "WriteOnly" as const }] }, true],
    [{ EventSelectors: [{ ReadWriteType: "ReadOnly" as const, IncludeManagementEvents: true }] }, false],
    [{ EventSelectors: [{ ReadWriteType: "All" as const, IncludeManagementEvents: false }] }, false],
    [
      { AdvancedEventSelectors: [{ FieldSelectors: [{ Field: "eventCategory", Equals: ["Management"] }] }] },
      true,
    ],
    [
      {
        AdvancedEventSelectors: [
          {
            FieldSelectors: [
              { Field: "eventCategory", Equals: ["Management"] },
              { Field: "readOnly", Equals: ["true"] },
            ],
          },
        ],
      },
      false,
    ],
    [{ AdvancedEventSelectors: [{ FieldSelectors: [{ Field: "eventCategory", Equals: ["Data"] }] }] }, false],
  ])("%j -> %s", (selectors, expected) => {
    expect(recordsManagementWrites(selectors)).toBe(expected);
  });
});
