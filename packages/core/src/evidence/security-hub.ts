import {
  type AwsSecurityFinding,
  BatchImportFindingsCommand,
  GetFindingsCommand,
} from "@aws-sdk/client-securityhub";
import type { AwsClients } from "../aws-clients.ts";
import { awsErrorName } from "../errors.ts";
import { realSleep, type Sleep } from "../retry.ts";
import {
  type AsffFinding,
  FINDING_GENERATOR_ID,
  findingOf,
  productArnOf,
  reportsFindingFor,
} from "./asff.ts";
import type { EvidenceReport } from "./compliance-summary.ts";

/** BatchImportFindings takes at most 100 findings per call. */
export const IMPORT_BATCH_SIZE = 100;
const ATTEMPTS = 5;

export interface SecurityHubResult {
  /** Findings created or updated for VPCs of this run. */
  imported: number;
  /** Findings of VPCs that no longer exist, archived (RecordState ARCHIVED). */
  archived: number;
  failed: { account: string; region: string; id?: string; error: string }[];
}

interface Scope {
  account: string;
  region: string;
}

/** The (account, region) pairs a report read successfully: only their vanished findings may be archived. */
function scopesOf(report: EvidenceReport): Scope[] {
  const accounts = report.accounts ?? [report.account];
  const broken = new Set(
    report.errors.filter((e) => !e.vpcId).map((e) => `${e.account ?? "*"}/${e.region ?? "*"}`),
  );
  const ok = (account: string, region: string) =>
    ![`${account}/${region}`, `${account}/*`, `*/${region}`, "*/*"].some((key) => broken.has(key));
  return accounts.flatMap((account) =>
    report.regions.filter((region) => ok(account, region)).map((region) => ({ account, region })),
  );
}

/** This product's ACTIVE findings in one account and region (filters are re-checked: emulators ignore them). */
async function activeFindings(clients: AwsClients, scope: Scope): Promise<AwsSecurityFinding[]> {
  const found: AwsSecurityFinding[] = [];
  let NextToken: string | undefined;
  do {
    const page = await clients.securityhub.send(
      new GetFindingsCommand({
        Filters: {
          ProductArn: [{ Value: productArnOf(scope.account, scope.region), Comparison: "EQUALS" }],
          GeneratorId: [{ Value: FINDING_GENERATOR_ID, Comparison: "EQUALS" }],
          RecordState: [{ Value: "ACTIVE", Comparison: "EQUALS" }],
        },
        MaxResults: 100,
        NextToken,
      }),
    );
    found.push(
      ...(page.Findings ?? []).filter(
        (f) =>
          f.GeneratorId === FINDING_GENERATOR_ID &&
          f.AwsAccountId === scope.account &&
          f.Region === scope.region &&
          f.RecordState !== "ARCHIVED",
      ),
    );
    NextToken = page.NextToken;
  } while (NextToken);
  return found;
}

/** Imports `findings` 100 at a time; findings Security Hub refuses are retried with backoff, then reported. */
async function importBatches(
  clients: AwsClients,
  scope: Scope,
  findings: (AsffFinding | AwsSecurityFinding)[],
  sleep: Sleep,
): Promise<SecurityHubResult["failed"]> {
  const failed: SecurityHubResult["failed"] = [];
  for (let start = 0; start < findings.length; start += IMPORT_BATCH_SIZE) {
    let pending = findings.slice(start, start + IMPORT_BATCH_SIZE);
    for (let attempt = 1; pending.length > 0; attempt++) {
      // The SDK's standard retry mode already backs off on throttling (HTTP 429) and 5xx.
      const response = await clients.securityhub.send(
        new BatchImportFindingsCommand({ Findings: pending as AwsSecurityFinding[] }),
      );
      const refused = new Map((response.FailedFindings ?? []).map((f) => [f.Id, f]));
      if (refused.size === 0) break;
      if (attempt >= ATTEMPTS) {
        for (const f of refused.values())
          failed.push({ ...scope, id: f.Id, error: `${f.ErrorCode}: ${f.ErrorMessage}` });
        break;
      }
      pending = pending.filter((finding) => refused.has(finding.Id));
      await sleep(500 * 2 ** attempt);
    }
  }
  return failed;
}

/**
 * `--security-hub`: one finding per VPC into the Security Hub of the VPC's own account and region
 * (BatchImportFindings must be called by the account a finding names). Ids are stable, so a re-run
 * updates the same findings (keeping their CreatedAt); a finding whose VPC is gone from a region the
 * run read is archived. A failing account or region is reported and the others go on.
 */
export async function importToSecurityHub(
  report: EvidenceReport,
  options: { clientsFor(account: string, region: string): AwsClients; now: string; sleep?: Sleep },
): Promise<SecurityHubResult> {
  const result: SecurityHubResult = { imported: 0, archived: 0, failed: [] };
  for (const scope of scopesOf(report)) {
    const clients = options.clientsFor(scope.account, scope.region);
    try {
      const existing = new Map((await activeFindings(clients, scope)).map((f) => [f.Id, f]));
      const current = report.vpcs
        .filter((vpc) => vpc.account === scope.account && vpc.region === scope.region)
        .filter(reportsFindingFor)
        .map((vpc) => {
          const id = findingOf(vpc, options.now).Id;
          return findingOf(vpc, options.now, existing.get(id)?.CreatedAt ?? options.now);
        });
      const currentIds = new Set(current.map((f) => f.Id));
      const vanished = [...existing.values()]
        .filter((f) => f.Id !== undefined && !currentIds.has(f.Id))
        .map((f) => ({
          ...f,
          RecordState: "ARCHIVED" as const,
          UpdatedAt: options.now,
          Description: `The VPC no longer exists. ${f.Description ?? ""}`.slice(0, 1024),
        }));
      const failed = await importBatches(
        clients,
        scope,
        [...current, ...vanished],
        options.sleep ?? realSleep,
      );
      const failedIds = new Set(failed.map((f) => f.id));
      result.imported += current.filter((f) => !failedIds.has(f.Id)).length;
      result.archived += vanished.filter((f) => !failedIds.has(f.Id)).length;
      result.failed.push(...failed);
    } catch (error) {
      const name = awsErrorName(error) ?? "Error";
      const hint =
        name === "InvalidAccessException"
          ? " (enable Security Hub in this account and region: aws securityhub enable-security-hub)"
          : "";
      result.failed.push({ ...scope, error: `${name}: ${(error as Error).message}${hint}` });
    }
  }
  return result;
}
