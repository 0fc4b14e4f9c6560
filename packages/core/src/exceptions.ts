/** Tag keys on a VPC that ask flowlog-guard to leave it alone until a date. A public contract. */
export const EXCEPTION_TAGS = {
  owner: "flowlog-guard:exception-owner",
  expires: "flowlog-guard:exception-expires",
  reason: "flowlog-guard:exception-reason",
} as const;

/** How a VPC's exception tags were judged. Only `valid` exempts a VPC; everything else fails closed. */
export type ExceptionVerdict =
  | { state: "valid"; owner: string; expires: string; reason?: string }
  | { state: "expired"; owner: string; expires: string; reason?: string; expiredAt: string }
  | { state: "invalid"; owner?: string; expires?: string; reason?: string; problems: string[] };

const DAY_MS = 86_400_000;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
// UTC only: a 'Z' or a zero offset; a local offset would make the expiry depend on who reads it.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]00:?00)$/;
const MAX_TAG_VALUE = 256;

/**
 * Parses an exception expiry: an ISO 8601 date (`2026-12-31`, meaning 00:00 UTC that day) or a UTC
 * date-time (`2026-12-31T18:00:00Z`). Returns undefined for anything else, including impossible
 * calendar dates and non-UTC offsets.
 */
export function parseExceptionExpiry(value: string): Date | undefined {
  const date = DATE_ONLY.exec(value);
  const dateTime = date ? undefined : DATE_TIME.exec(value);
  const parts = date ?? dateTime;
  if (!parts) return undefined;
  const [year, month, day, hour = "0", minute = "0", second = "0"] = parts.slice(1).map((p) => p ?? "0");
  const millis = dateTime?.[7] ? Number(`0.${dateTime[7]}`) * 1000 : 0;
  const parsed = new Date(
    Date.UTC(
      Number(year),
      Number(month) - 1,
      Number(day),
      Number(hour),
      Number(minute),
      Number(second),
      millis,
    ),
  );
  const roundTrips =
    parsed.getUTCFullYear() === Number(year) &&
    parsed.getUTCMonth() === Number(month) - 1 &&
    parsed.getUTCDate() === Number(day) &&
    parsed.getUTCHours() === Number(hour) &&
    parsed.getUTCMinutes() === Number(minute) &&
    parsed.getUTCSeconds() === Number(second);
  return roundTrips ? parsed : undefined;
}

/**
 * Judges a VPC's exception tags at `now`. Returns undefined when the VPC has none of them.
 * Fails closed: a missing owner, a missing or malformed expiry, or an expiry further out than
 * `maxExceptionDays` is `invalid`, and the VPC is remediated as if it had no exception.
 */
export function evaluateException(
  tags: Readonly<Record<string, string>>,
  now: Date,
  maxExceptionDays: number,
): ExceptionVerdict | undefined {
  const rawOwner = tags[EXCEPTION_TAGS.owner];
  const rawExpires = tags[EXCEPTION_TAGS.expires];
  const rawReason = tags[EXCEPTION_TAGS.reason];
  if (rawOwner === undefined && rawExpires === undefined && rawReason === undefined) return undefined;

  const owner = rawOwner?.trim();
  const expires = rawExpires?.trim();
  const reason = rawReason?.trim() || undefined;
  const problems: string[] = [];
  if (!owner) problems.push(`missing owner: tag ${EXCEPTION_TAGS.owner} must name who owns the exception`);
  else if (owner.length > MAX_TAG_VALUE) problems.push(`owner is longer than ${MAX_TAG_VALUE} characters`);
  if (reason && reason.length > MAX_TAG_VALUE)
    problems.push(`reason is longer than ${MAX_TAG_VALUE} characters`);

  let expiry: Date | undefined;
  if (!expires) {
    problems.push(`missing expiry: tag ${EXCEPTION_TAGS.expires} must be a UTC date such as 2026-12-31`);
  } else {
    expiry = parseExceptionExpiry(expires);
    if (!expiry) {
      problems.push(
        `malformed expiry ${JSON.stringify(truncate(expires))}: use an ISO 8601 date (2026-12-31) or UTC date-time (2026-12-31T18:00:00Z)`,
      );
    } else if (expiry.getTime() - now.getTime() > maxExceptionDays * DAY_MS) {
      problems.push(
        `expiry ${expiry.toISOString()} is more than ${maxExceptionDays} days away (maxExceptionDays); exceptions must be renewed`,
      );
    }
  }

  const shown = {
    ...(owner ? { owner: truncate(owner) } : {}),
    ...(expires ? { expires: truncate(expires) } : {}),
    ...(reason ? { reason: truncate(reason) } : {}),
  };
  if (problems.length > 0 || !owner || !expiry || !expires) return { state: "invalid", ...shown, problems };
  if (expiry.getTime() <= now.getTime()) {
    return {
      state: "expired",
      owner,
      expires,
      ...(reason ? { reason } : {}),
      expiredAt: expiry.toISOString(),
    };
  }
  return { state: "valid", owner, expires, ...(reason ? { reason } : {}) };
}

/** Reports show tag values, which anyone can set: keep them short. */
function truncate(value: string): string {
  return value.length > MAX_TAG_VALUE ? `${value.slice(0, MAX_TAG_VALUE)}…` : value;
}
