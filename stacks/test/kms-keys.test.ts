import { parsePolicy } from "@flowlog-guard/core/data";
import { describe, expect, it } from "vitest";
import { guardConfig, kmsKeyDeployProblems } from "../config.ts";

const key = (region: string, id = "1234abcd-12ab-34cd-56ef-1234567890ab") =>
  `arn:aws:kms:${region}:111122223333:key/${id}`;

describe("stack config: KMS keys per watched region", () => {
  it("fails the deploy when a watched region (us-east-1 and the home region included) has no key", () => {
    const config = { watchedRegions: ["eu-west-1", "ap-south-1"], homeRegion: "eu-central-1" };
    const policy = parsePolicy({ kmsKeyArn: { "eu-west-1": key("eu-west-1") } });
    const [problem] = kmsKeyDeployProblems(config, policy);
    expect(problem).toContain("policy.kmsKeyArn");
    expect(problem).toContain("no KMS key for regions ap-south-1, eu-central-1, us-east-1");
  });

  it("deploys with a key for each region, or one multi-Region key, or no key at all", () => {
    const config = { watchedRegions: ["eu-west-1"], homeRegion: "eu-west-1" };
    const perRegion = parsePolicy({ kmsKeyArn: [key("eu-west-1"), key("us-east-1")] });
    expect(kmsKeyDeployProblems(config, perRegion)).toEqual([]);
    const multiRegion = parsePolicy({ kmsKeyArn: key("eu-west-1", "mrk-1234abcd12ab34cd56ef1234567890ab") });
    expect(kmsKeyDeployProblems(config, multiRegion)).toEqual([]);
    expect(kmsKeyDeployProblems(guardConfig("dev", {}), parsePolicy(guardConfig("dev", {}).policy))).toEqual(
      [],
    );
  });
});
