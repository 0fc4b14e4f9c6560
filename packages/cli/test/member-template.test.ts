import { describe, expect, it } from "vitest";
import { main } from "../src/main.ts";

async function cli(args: string[]) {
  let out = "";
  let err = "";
  const code = await main(args, {
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    env: {},
    readStdin: async () => "",
  });
  return { code, out, err };
}

describe("flowlog-guard member-template", () => {
  it("prints the template as JSON with the given defaults, without calling AWS", async () => {
    const { code, out } = await cli([
      "member-template",
      "--organization-id",
      "o-abcdef1234",
      "--central-account-id",
      "111122223333",
      "--log-group-name",
      "/org/{vpcId}",
    ]);
    expect(code).toBe(0);
    const template = JSON.parse(out);
    expect(template.Parameters.OrganizationId.Default).toBe("o-abcdef1234");
    expect(template.Resources.MemberRole.Properties.RoleName).toBe("flowlog-guard-member");
    expect(JSON.stringify(template.Resources.MemberRole.Properties.Policies)).toContain(
      "log-group:/org/vpc-*",
    );
  });

  it("refuses bad values with every problem named (exit 2) and prints no template", async () => {
    const { code, out, err } = await cli([
      "member-template",
      "--central-account-id",
      "12",
      "--organization-id",
      "org",
      "--operator-role-arns",
      "admin",
    ]);
    expect(code).toBe(2);
    expect(out).toBe("");
    expect(err).toContain("--central-account-id must be a 12-digit AWS account id");
    expect(err).toContain("--organization-id must be an AWS Organizations id");
    expect(err).toContain("--operator-role-arns takes role ARNs");
  });
});
