/**
 * The controls a flowlog-guard report evidences, as AWS Security Hub maps control EC2.6 ("VPC flow
 * logging should be enabled in all VPCs"; docs: securityhub/latest/userguide/ec2-controls.html#ec2-6).
 * One source for the compliance reports and the ASFF findings.
 */
export const SECURITY_HUB_CONTROL_ID = "EC2.6";

export interface EvidencedControl {
  framework: string;
  id: string;
  title: string;
}

export const EVIDENCED_CONTROLS: readonly EvidencedControl[] = [
  {
    framework: "AWS Security Hub (Foundational Security Best Practices)",
    id: "EC2.6",
    title: "VPC flow logging should be enabled in all VPCs",
  },
  {
    framework: "CIS AWS Foundations Benchmark",
    id: "v1.2.0 2.9, v1.4.0 3.9, v3.0.0 3.7, v5.0.0 3.7",
    title: "Ensure VPC flow logging is enabled in all VPCs",
  },
  { framework: "NIST SP 800-53 Rev. 5", id: "AU-2", title: "Event Logging" },
  { framework: "NIST SP 800-53 Rev. 5", id: "AU-12", title: "Audit Record Generation" },
  { framework: "NIST SP 800-53 Rev. 5", id: "CA-7", title: "Continuous Monitoring" },
];

/** `Compliance.RelatedRequirements` of the findings, in Security Hub's own spelling. */
export const RELATED_REQUIREMENTS: readonly string[] = [
  "CIS AWS Foundations Benchmark v1.2.0/2.9",
  "CIS AWS Foundations Benchmark v1.4.0/3.9",
  "CIS AWS Foundations Benchmark v3.0.0/3.7",
  "CIS AWS Foundations Benchmark v5.0.0/3.7",
  "NIST.800-53.r5 AU-2",
  "NIST.800-53.r5 AU-12",
  "NIST.800-53.r5 CA-7",
];
