import { isServerError, isThrottlingError, isTransientError } from "@smithy/core/retry";
/**
 * The errors flowlog-guard raises on purpose. Each sets `name` as a literal (bundlers mangle class
 * names), keeps the original error as `cause`, and carries the context needed to act on it.
 */

/** Configuration (env, flags, config object) is invalid. The message lists every problem and the fix. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly problems: string[];
  constructor(message: string, problems: string[] = [], options?: ErrorOptions) {
    super(message, options);
    this.problems = problems;
  }
}

/** An incoming event is not one flowlog-guard handles, or is malformed. Nothing was changed. */
export class EventValidationError extends Error {
  override readonly name = "EventValidationError";
  readonly field: string | undefined;
  constructor(message: string, field?: string, options?: ErrorOptions) {
    super(message, options);
    this.field = field;
  }
}

/** One remediation action failed after its retries; the run goes on with the other VPCs. */
export class RemediationError extends Error {
  override readonly name = "RemediationError";
  readonly action: string;
  readonly region: string | undefined;
  readonly vpcId: string | undefined;
  constructor(
    message: string,
    context: { action: string; region?: string; vpcId?: string },
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.action = context.action;
    this.region = context.region;
    this.vpcId = context.vpcId;
  }
}

/** The error name the AWS SDK gives (`error.name`), or undefined for non-AWS errors. */
export function awsErrorName(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "name" in error && typeof error.name === "string") {
    return error.name;
  }
  return undefined;
}

/**
 * When the SDK cannot parse a response (an XML error from a JSON-protocol API, an HTML page from a
 * proxy), what the body said: the <Code> and <Message> of an XML error, else its first characters.
 */
function unparsedResponse(error: Error): string | undefined {
  const body = (error as { $responseBodyText?: unknown }).$responseBodyText;
  if (typeof body !== "string" || body === "") return undefined;
  const code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
  const message = /<Message>([^<]*)<\/Message>/.exec(body)?.[1];
  if (code || message) return [code, message].filter(Boolean).join(": ");
  return body.replace(/\s+/g, " ").slice(0, 200);
}

/** Errors AWS asks callers to retry beyond the SDK's own retries: ours, with passes within a run. */
const RETRYABLE_NAMES = new Set([
  "OperationAbortedException",
  "ConcurrentModification",
  "ConcurrentModificationException",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "InternalError",
  "InternalFailure",
  "InternalServerError",
  "InternalServiceError",
]);

/**
 * True when a failed call is worth trying again later in the same run: throttling, 5xx, dropped or
 * timed-out connections (the SDK's own classification), and AWS's "try again" errors. Access denied,
 * invalid parameters and not found are not: they fail at once.
 */
export function isRetryableError(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const sdkError = error as Parameters<typeof isTransientError>[0];
  if (isThrottlingError(sdkError) || isTransientError(sdkError) || isServerError(sdkError)) return true;
  const name = awsErrorName(error);
  if (name && RETRYABLE_NAMES.has(name)) return true;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status !== undefined && status >= 500;
}

/** IAM's "not found" (the SDK names it NoSuchEntityException; older ones NoSuchEntity): an answer, not a failure. */
export function isNoSuchEntity(error: unknown): boolean {
  const name = awsErrorName(error);
  return name === "NoSuchEntityException" || name === "NoSuchEntity";
}

/** A short, single-line description of any error, for reports. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const unparsed = unparsedResponse(error);
    if (unparsed) return `${unparsed} (the response could not be parsed: ${error.message.split("\n")[0]})`;
    const name = awsErrorName(error);
    return name && name !== "Error" && !error.message.startsWith(name)
      ? `${name}: ${error.message}`
      : error.message;
  }
  return String(error);
}
