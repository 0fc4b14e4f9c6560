import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { POLICY_ENV_VARS, parsePolicy } from "../src/config.ts";
import { CSV_COLUMNS } from "../src/evidence/csv.ts";
import { guardrailsPolicyDocument, renderPolicyDocument } from "../src/guardrails.ts";
import { deliveryRolePermissionsPolicy, deliveryRoleTrustPolicy } from "../src/policy-documents.ts";

const doc = (name: string) => readFileSync(new URL(`../../../docs/${name}`, import.meta.url), "utf8");

describe("docs stay true to the code", () => {
  it("what-gets-created.md shows the role trust and inline policy the code creates", () => {
    const text = doc("what-gets-created.md");
    expect(text).toContain(JSON.stringify(deliveryRoleTrustPolicy("aws", "111122223333"), null, 2));
    const defaults = parsePolicy({});
    expect(text).toContain(
      JSON.stringify(deliveryRolePermissionsPolicy(defaults.logGroupName, "aws", "111122223333"), null, 2),
    );
  });

  it("configuration.md lists every policy field with its variable", () => {
    const text = doc("configuration.md");
    for (const [field, env] of Object.entries(POLICY_ENV_VARS)) {
      expect(text).toContain(`| \`${field}\` | \`${env}\` |`);
    }
  });

  it("evidence.md shows the SCP guardrails prints and the CSV columns the code writes", () => {
    const text = doc("evidence.md");
    const scp = guardrailsPolicyDocument({
      partition: "aws",
      policy: parsePolicy({}),
      exceptionApprovers: ["arn:aws:iam::*:role/SecurityApprover"],
    });
    expect(text).toContain(renderPolicyDocument(scp));
    expect(text).toContain(CSV_COLUMNS.join(","));
  });
});
