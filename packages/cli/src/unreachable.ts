import { buildReport, type RunMode, type RunReport } from "@flowlog-guard/core";

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ETIMEDOUT",
  "EAI_AGAIN",
]);

/** The endpoint could not be reached or did not answer in time (classified by name and code, not text). */
export function isUnreachable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: string }).code;
  return error.name === "TimeoutError" || (code !== undefined && NETWORK_CODES.has(code));
}

/**
 * The report of a run that could not start because AWS could not be reached (STS or DescribeRegions
 * failed on the network): every region asked for is reported unread, so scripts still get JSON, exit 3.
 */
export function unreachableReport(
  mode: RunMode,
  regions: string[],
  error: Error,
  apiCalls: number,
): RunReport {
  const detail = `AWS endpoint unreachable (${(error as { code?: string }).code ?? error.name}: ${error.message})`;
  const reason = `could not be read: ${detail}`;
  const report = buildReport({
    mode,
    plan: {
      account: "unknown",
      partition: "aws",
      generatedAt: new Date().toISOString(),
      vpcs: [],
      actions: [],
    },
    regions,
    regionOutcomes: regions.map((region) => ({
      account: "unknown",
      region,
      kind: "read-failed",
      error: detail,
    })),
    apiCalls,
    apiRetries: 0,
    durationMs: 0,
  });
  report.errors.unshift({
    scope: "account",
    message: `${reason}. Check AWS_ENDPOINT_URL, proxies and network access.`,
  });
  return report;
}
