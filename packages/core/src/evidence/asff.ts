import { partitionOf } from "../regions.ts";
import type { VpcReport } from "../report.ts";
import type { EvidenceReport } from "./compliance-summary.ts";
import { RELATED_REQUIREMENTS, SECURITY_HUB_CONTROL_ID } from "./controls.ts";

/** ASFF `GeneratorId` of every flowlog-guard finding: how its findings are told from others. */
export const FINDING_GENERATOR_ID = "flowlog-guard/vpc-flow-logging";
const TITLE = "VPC flow logging should be enabled in all VPCs";
const MAX_DESCRIPTION = 1024;

export type ComplianceStatus = "PASSED" | "FAILED" | "WARNING" | "NOT_AVAILABLE";

/** The ASFF fields flowlog-guard sets (a subset of AwsSecurityFinding; all the required ones). */
export interface AsffFinding {
  SchemaVersion: "2018-10-08";
  Id: string;
  ProductArn: string;
  GeneratorId: string;
  AwsAccountId: string;
  Region: string;
  Types: string[];
  CreatedAt: string;
  UpdatedAt: string;
  Severity: { Label: "INFORMATIONAL" | "LOW" | "MEDIUM" };
  FindingProviderFields: { Severity: { Label: "INFORMATIONAL" | "LOW" | "MEDIUM" }; Types: string[] };
  Title: string;
  Description: string;
  Remediation: { Recommendation: { Text: string; Url: string } };
  ProductFields: Record<string, string>;
  Resources: { Type: "AwsEc2Vpc"; Id: string; Partition: string; Region: string }[];
  Compliance: { Status: ComplianceStatus; SecurityControlId: string; RelatedRequirements: string[] };
  RecordState: "ACTIVE" | "ARCHIVED";
}

/** A private integration's product ARN: findings go to the account's and region's own Security Hub. */
export function productArnOf(account: string, region: string): string {
  return `arn:${partitionOf(region)}:securityhub:${region}:${account}:product/${account}/default`;
}

/** Stable per account, region and VPC, so a re-run updates the same finding instead of adding one. */
export function findingIdOf(account: string, region: string, vpcId: string): string {
  return `flowlog-guard/${account}/${region}/${vpcId}/${SECURITY_HUB_CONTROL_ID}`;
}

/** PASSED when the VPC has flow logs, WARNING when exempt (the exception in the text), else FAILED. */
export function complianceStatusOf(vpc: Pick<VpcReport, "status">): ComplianceStatus {
  if (vpc.status === "compliant" || vpc.status === "remediated") return "PASSED";
  if (vpc.status === "exempt") return "WARNING";
  return "FAILED";
}

const SEVERITY = {
  PASSED: "INFORMATIONAL",
  WARNING: "LOW",
  FAILED: "MEDIUM",
  NOT_AVAILABLE: "INFORMATIONAL",
} as const;

function descriptionOf(vpc: VpcReport): string {
  const name = vpc.name ? ` (${vpc.name})` : "";
  const exception = vpc.exception
    ? ` Exception: owner ${vpc.exception.owner ?? "(none)"}, expires ${vpc.exception.expires ?? "(none)"}, ${vpc.exception.state}${vpc.exception.reason ? `, reason: ${vpc.exception.reason}` : ""}.`
    : "";
  const text = `VPC ${vpc.vpcId}${name} is ${vpc.status}: ${vpc.reason}.${exception}`;
  return text.length > MAX_DESCRIPTION ? `${text.slice(0, MAX_DESCRIPTION - 1)}…` : text;
}

/** One ASFF finding for one VPC of a report, stamped `now` (`createdAt` keeps a finding's first date). */
export function findingOf(vpc: VpcReport, now: string, createdAt: string = now): AsffFinding {
  const partition = partitionOf(vpc.region);
  const status = complianceStatusOf(vpc);
  const severity = { Label: SEVERITY[status] };
  const types = [
    "Software and Configuration Checks/Industry and Regulatory Standards/CIS AWS Foundations Benchmark",
  ];
  return {
    SchemaVersion: "2018-10-08",
    Id: findingIdOf(vpc.account, vpc.region, vpc.vpcId),
    ProductArn: productArnOf(vpc.account, vpc.region),
    GeneratorId: FINDING_GENERATOR_ID,
    AwsAccountId: vpc.account,
    Region: vpc.region,
    Types: types,
    CreatedAt: createdAt,
    UpdatedAt: now,
    Severity: severity,
    FindingProviderFields: { Severity: severity, Types: types },
    Title: TITLE,
    Description: descriptionOf(vpc),
    Remediation: {
      Recommendation: {
        Text: "Run `flowlog-guard fix-all`, or let the deployed flowlog-guard remediate it.",
        Url: "https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-6",
      },
    },
    ProductFields: {
      "flowlog-guard/status": vpc.status,
      "flowlog-guard/flowLogIds": vpc.flowLogIds.join(" ") || "none",
      ...(vpc.destination ? { "flowlog-guard/destination": vpc.destination } : {}),
      ...(vpc.exception?.owner ? { "flowlog-guard/exceptionOwner": vpc.exception.owner } : {}),
      ...(vpc.exception?.expires ? { "flowlog-guard/exceptionExpires": vpc.exception.expires } : {}),
    },
    Resources: [
      {
        Type: "AwsEc2Vpc",
        Id: `arn:${partition}:ec2:${vpc.region}:${vpc.account}:vpc/${vpc.vpcId}`,
        Partition: partition,
        Region: vpc.region,
      },
    ],
    Compliance: {
      Status: status,
      SecurityControlId: SECURITY_HUB_CONTROL_ID,
      RelatedRequirements: [...RELATED_REQUIREMENTS],
    },
    RecordState: "ACTIVE",
  };
}

/**
 * A VPC this account reports on: every one but those another account owns (AWS RAM). Security Hub's
 * EC2.6 judges a VPC in its owner's account, whose own run imports the finding.
 */
export function reportsFindingFor(vpc: Pick<VpcReport, "status">): boolean {
  return vpc.status !== "not-owned";
}

/** `--format asff`: every VPC of the report this account owns, as an ASFF finding (what `--security-hub` imports). */
export function buildFindings(report: EvidenceReport, now: string): AsffFinding[] {
  return report.vpcs.filter(reportsFindingFor).map((vpc) => findingOf(vpc, now));
}
