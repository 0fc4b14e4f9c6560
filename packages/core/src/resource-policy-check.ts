/**
 * A small reader of resource policies (bucket and key policies): does this policy let an AWS service
 * principal make one request? Enough for `doctor` to tell "the archive bucket refuses this account"
 * from "it is set up", not a full IAM evaluator: an operator or element it does not understand makes
 * the answer `unsure`, never `allowed` (fail closed).
 */
import type { PolicyDocument, PolicyStatement } from "./policy-documents.ts";

export interface ServiceRequest {
  service: string;
  action: string;
  resource: string;
  /** Condition keys the request carries, e.g. aws:SourceAccount. */
  context: Record<string, string>;
}

export interface GrantVerdict {
  decision: "allowed" | "denied" | "not-granted" | "unsure";
  /** The granting statement checks aws:SourceAccount, aws:SourceOrgID or aws:SourceArn. */
  sourceConditioned: boolean;
  /** Why the answer is `unsure` or `denied`. */
  notes: string[];
}

const SOURCE_KEYS = ["aws:sourceaccount", "aws:sourceorgid", "aws:sourcearn"];

/** IAM wildcards: `*` any run of characters, `?` one character. */
export function wildcardMatches(pattern: string, value: string, ignoreCase = false): boolean {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${escaped}$`, ignoreCase ? "is" : "s").test(value);
}

const list = (value: string | string[] | undefined): string[] => (value === undefined ? [] : [value].flat());

function principalMatches(statement: PolicyStatement & { NotPrincipal?: unknown }, service: string) {
  const principal = statement.Principal as unknown;
  if (principal === "*") return true;
  if (!principal || typeof principal !== "object") return false;
  const entries = principal as Record<string, string | string[]>;
  return list(entries.AWS).includes("*") || list(entries.Service).includes(service);
}

type ConditionOutcome = "true" | "false" | "unknown";

function operatorMatches(operator: string, expected: string[], actual: string): ConditionOutcome {
  const base = operator.replace(/^ForAnyValue:|^ForAllValues:/, "").replace(/IfExists$/, "");
  switch (base) {
    case "StringEquals":
    case "ArnEquals":
      return expected.includes(actual) ? "true" : "false";
    case "StringEqualsIgnoreCase":
      return expected.some((e) => e.toLowerCase() === actual.toLowerCase()) ? "true" : "false";
    case "StringLike":
    case "ArnLike":
      return expected.some((e) => wildcardMatches(e, actual)) ? "true" : "false";
    case "StringNotEquals":
    case "ArnNotEquals":
      return expected.includes(actual) ? "false" : "true";
    case "StringNotLike":
    case "ArnNotLike":
      return expected.some((e) => wildcardMatches(e, actual)) ? "false" : "true";
    default:
      return "unknown";
  }
}

function conditionsHold(statement: PolicyStatement, context: Record<string, string>): ConditionOutcome {
  let outcome: ConditionOutcome = "true";
  for (const [operator, keys] of Object.entries(statement.Condition ?? {})) {
    for (const [key, expected] of Object.entries(keys)) {
      const actual = Object.entries(context).find(([name]) => name.toLowerCase() === key.toLowerCase())?.[1];
      if (actual === undefined) {
        if (operator.endsWith("IfExists")) continue;
        outcome = "unknown";
        continue;
      }
      const result = operatorMatches(operator, list(expected), actual);
      if (result === "false") return "false";
      if (result === "unknown") outcome = "unknown";
    }
  }
  return outcome;
}

function appliesTo(statement: PolicyStatement, request: ServiceRequest): boolean {
  const raw = statement as PolicyStatement & { NotAction?: unknown; NotResource?: unknown };
  if (raw.NotAction !== undefined || raw.NotResource !== undefined) return false;
  return (
    principalMatches(statement, request.service) &&
    list(statement.Action).some((action) => wildcardMatches(action, request.action, true)) &&
    list(statement.Resource ?? "*").some((resource) => wildcardMatches(resource, request.resource))
  );
}

/**
 * Whether `document` lets `request.service` perform `request.action` on `request.resource` with the
 * given condition context: an explicit deny wins, then an allow whose conditions hold.
 */
export function evaluateServiceGrant(
  document: PolicyDocument | undefined,
  request: ServiceRequest,
): GrantVerdict {
  const statements = document?.Statement ?? [];
  const notes: string[] = [];
  for (const statement of statements.filter((s) => s.Effect === "Deny" && appliesTo(s, request))) {
    if (conditionsHold(statement, request.context) !== "false") {
      return {
        decision: "denied",
        sourceConditioned: false,
        notes: [`statement ${statement.Sid ?? "(no Sid)"} denies ${request.action}`],
      };
    }
  }
  let unsure = false;
  for (const statement of statements.filter((s) => s.Effect === "Allow" && appliesTo(s, request))) {
    const holds = conditionsHold(statement, request.context);
    if (holds === "true") {
      const keys = Object.values(statement.Condition ?? {}).flatMap((keys) => Object.keys(keys));
      const sourceConditioned = keys.some((key) => SOURCE_KEYS.includes(key.toLowerCase()));
      return { decision: "allowed", sourceConditioned, notes };
    }
    if (holds === "unknown") {
      unsure = true;
      notes.push(`statement ${statement.Sid ?? "(no Sid)"} has conditions this check cannot evaluate`);
    }
  }
  if (statements.some((s) => "NotPrincipal" in s || "NotAction" in s)) {
    unsure = true;
    notes.push("the policy uses NotPrincipal or NotAction, which this check does not evaluate");
  }
  return { decision: unsure ? "unsure" : "not-granted", sourceConditioned: false, notes };
}
