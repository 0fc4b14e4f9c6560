import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parsePolicy } from "../src/config.ts";
import { refuseUncoveredKmsRegions } from "../src/engine.ts";
import { ConfigError } from "../src/errors.ts";
import {
  checkKeyPolicyForLogGroup,
  kmsKeyCoverageProblems,
  kmsKeyForRegion,
  kmsKeySettingProblems,
  kmsKeysForRegions,
  parseKmsKeyArn,
} from "../src/kms-keys.ts";
import type { PolicyDocument } from "../src/policy-documents.ts";
import { servicePolicyDocument } from "../src/service-policy.ts";

const EU = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const US = "arn:aws:kms:us-east-1:111122223333:key/0f0e0d0c-0b0a-0908-0706-050403020100";
const MRK = "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab";
const MRK_US = "arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab";

describe("kmsKeyArn setting: a key per region", () => {
  it("gives a single (single-Region) key to its own region only", () => {
    expect(kmsKeyForRegion(EU, "eu-west-1")).toBe(EU);
    expect(kmsKeyForRegion(EU, "us-east-1")).toBeUndefined();
  });

  it("derives a multi-Region key's replica ARN for every other region of its partition", () => {
    expect(kmsKeyForRegion(MRK, "eu-west-1")).toBe(MRK);
    expect(kmsKeyForRegion(MRK, "us-east-1")).toBe(MRK_US);
    expect(kmsKeyForRegion(MRK, "ap-south-1")).toBe(
      "arn:aws:kms:ap-south-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab",
    );
    // A replica never crosses partitions.
    expect(kmsKeyForRegion(MRK, "cn-north-1")).toBeUndefined();
  });

  it("takes REGION=ARN lists, repeated values and { region: arn } objects alike", () => {
    const forms = [
      `eu-west-1=${EU},us-east-1=${US}`,
      [`eu-west-1=${EU}`, `us-east-1=${US}`],
      [EU, US],
      { "eu-west-1": EU, "us-east-1": US },
    ];
    for (const kmsKeyArn of forms) {
      const policy = parsePolicy({ kmsKeyArn });
      expect(kmsKeyForRegion(policy.kmsKeyArn, "eu-west-1")).toBe(EU);
      expect(kmsKeyForRegion(policy.kmsKeyArn, "us-east-1")).toBe(US);
      expect(kmsKeyForRegion(policy.kmsKeyArn, "eu-central-1")).toBeUndefined();
    }
  });

  it("lets a region's own key win over a multi-Region key's replica", () => {
    const setting = `${MRK},us-east-1=${US}`;
    expect(kmsKeyForRegion(setting, "us-east-1")).toBe(US);
    expect(kmsKeysForRegions(setting, ["eu-west-1", "us-east-1", "us-west-2"])).toEqual([
      { region: "eu-west-1", keyArn: MRK, replica: false },
      { region: "us-east-1", keyArn: US, replica: false },
      { region: "us-west-2", keyArn: MRK.replace("eu-west-1", "us-west-2"), replica: true },
    ]);
  });

  it.each([
    ["alias/mine", "is not a KMS key ARN"],
    ["1234abcd-12ab-34cd-56ef-1234567890ab", "is not a KMS key ARN"],
    [`us-east-1=${EU}`, `the key ${EU} is in eu-west-1, not us-east-1`],
    [`us-east-1=${MRK}`, `give the replica's ARN ${MRK_US}`],
    [`Ireland=${EU}`, '"Ireland" is not a region name'],
    [`${EU},eu-west-1=${EU.replace("1234abcd", "99999999")}`, "two keys for eu-west-1"],
    [
      `${MRK},${MRK.replace("mrk-1234", "mrk-9999").replace("eu-west-1", "us-east-1")}`,
      "2 multi-Region keys",
    ],
    ["arn:aws-cn:kms:eu-west-1:111122223333:key/abc", "names partition aws-cn, but eu-west-1 is in aws"],
  ])("refuses %s, naming the problem (%s)", (kmsKeyArn, message) => {
    expect(kmsKeySettingProblems(kmsKeyArn).join("\n")).toContain(message);
    expect(() => parsePolicy({ kmsKeyArn })).toThrow(ConfigError);
    expect(() => parsePolicy({ kmsKeyArn })).toThrow(message);
  });

  it("refuses a run whose regions are not all given a key, naming them and the fix", () => {
    const [problem] = kmsKeyCoverageProblems(EU, ["eu-west-1", "ap-south-1", "us-west-2"]);
    expect(problem).toContain("no KMS key for regions ap-south-1, us-west-2");
    expect(problem).toContain("--kms-key-arn ap-south-1=arn:aws:kms:ap-south-1:111122223333:key/KEY-ID");
    expect(problem).toContain("multi-Region key (mrk-...)");
    expect(() => refuseUncoveredKmsRegions({ kmsKeyArn: EU }, ["eu-west-1", "ap-south-1"])).toThrow(
      /nothing was changed[\s\S]*no KMS key for region ap-south-1/,
    );
    expect(kmsKeyCoverageProblems(`${EU},${US}`, ["eu-west-1", "us-east-1"])).toEqual([]);
    expect(kmsKeyCoverageProblems(MRK, ["eu-west-1", "us-east-1", "ap-south-1"])).toEqual([]);
    // No key configured: no key is required anywhere.
    expect(kmsKeyCoverageProblems(undefined, ["eu-west-1"])).toEqual([]);
  });

  it("property: every region of a valid setting gets a key of that very region, or the run is refused", () => {
    const regions = fc.constantFrom("eu-west-1", "us-east-1", "ap-south-1", "us-west-2", "cn-north-1");
    const keyId = fc.oneof(
      fc.uuid(),
      fc.stringMatching(/^[0-9a-f]{32}$/).map((hex) => `mrk-${hex}`),
    );
    const item = fc
      .record({ region: regions, keyId, named: fc.boolean() })
      .map(({ region, keyId, named }) => {
        const arn = `arn:${region.startsWith("cn-") ? "aws-cn" : "aws"}:kms:${region}:111122223333:key/${keyId}`;
        return named ? `${region}=${arn}` : arn;
      });
    fc.assert(
      fc.property(
        fc.array(item, { minLength: 1, maxLength: 4 }),
        fc.uniqueArray(regions, { minLength: 1 }),
        (items, watched) => {
          const setting = items.join(",");
          if (kmsKeySettingProblems(setting).length > 0) return;
          const problems = kmsKeyCoverageProblems(setting, watched);
          for (const region of watched) {
            const key = kmsKeyForRegion(setting, region);
            if (key === undefined) expect(problems.join()).toContain(region);
            else expect(parseKmsKeyArn(key)?.region).toBe(region);
          }
          if (watched.every((region) => kmsKeyForRegion(setting, region))) expect(problems).toEqual([]);
        },
      ),
      { numRuns: 300, seed: 20261123 },
    );
  });
});

describe("service policy with KMS keys", () => {
  const options = { partition: "aws", accountId: "111122223333" };
  const base = {
    roleName: "flowlog-guard-delivery",
    logGroupName: "/aws/vpc-flow-logs/{vpcId}",
    ledgerBus: undefined,
  };

  it("grants the key reads doctor makes, on the configured key ids in every region, and AssociateKmsKey", () => {
    const document = servicePolicyDocument({ ...options, policy: { ...base, kmsKeyArn: `${MRK},${US}` } });
    expect(document.Statement.find((statement) => statement.Sid === "CheckLogGroupKeys")).toEqual({
      Sid: "CheckLogGroupKeys",
      Effect: "Allow",
      Action: ["kms:DescribeKey", "kms:GetKeyPolicy"],
      Resource: [
        "arn:aws:kms:*:111122223333:key/0f0e0d0c-0b0a-0908-0706-050403020100",
        "arn:aws:kms:*:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab",
      ],
    });
    const groups = document.Statement.find((statement) => statement.Sid === "ManageFlowLogGroups");
    expect(groups?.Action).toContain("logs:AssociateKmsKey");
  });

  it("grants no KMS action and no AssociateKmsKey without keys", () => {
    const actions = servicePolicyDocument({ ...options, policy: base }).Statement.flatMap((s) =>
      [s.Action].flat(),
    );
    expect(actions.filter((action) => /^kms:|AssociateKmsKey/.test(String(action)))).toEqual([]);
  });
});

describe("key policy check for CloudWatch Logs of a region", () => {
  const target = {
    region: "eu-west-1",
    logGroupArn: "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/vpc-flow-logs/vpc-1",
  };
  const statement = (extra: object): PolicyDocument => ({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow" as const,
        Principal: { Service: "logs.eu-west-1.amazonaws.com" },
        Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        Resource: "*",
        ...extra,
      },
    ],
  });

  it.each([
    [{}, "allowed"],
    [
      {
        Condition: {
          ArnLike: { "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:eu-west-1:111122223333:*" },
        },
      },
      "allowed",
    ],
    [
      {
        Condition: {
          ArnEquals: {
            "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:eu-west-1:111122223333:log-group:other",
          },
        },
      },
      "not-granted",
    ],
    [{ Principal: { Service: "logs.us-east-1.amazonaws.com" } }, "not-granted"],
    [{ Action: ["kms:GenerateDataKey*"] }, "not-granted"],
    [{ Condition: { NumericLessThan: { "kms:EncryptionContext:aws:logs:arn": "1" } } }, "unsure"],
  ])("reads %j as %s", (extra, decision) => {
    expect(checkKeyPolicyForLogGroup(statement(extra), target).decision).toBe(decision);
  });

  it("lets an explicit deny win", () => {
    const document = statement({});
    document.Statement.push({
      Effect: "Deny",
      Principal: { Service: "logs.eu-west-1.amazonaws.com" },
      Action: ["kms:Decrypt"],
      Resource: "*",
    });
    expect(checkKeyPolicyForLogGroup(document, target).decision).toBe("denied");
  });
});
