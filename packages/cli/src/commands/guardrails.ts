import { guardrailsPolicyDocument, renderPolicyDocument } from "@flowlog-guard/core";
import type { Io } from "../io.ts";
import { resolvePolicy } from "../options.ts";

const list = (value: unknown) =>
  typeof value === "string"
    ? value
        .split(",")
        .map((item) => item.trim())
        .filter(Boolean)
    : undefined;

/** `guardrails`: the service control policy that protects what flowlog-guard manages, as JSON. */
export async function guardrailsCommand(options: Record<string, unknown>, io: Io): Promise<number> {
  const policy = resolvePolicy(options, io.env);
  const approvers = list(options.exceptionApprovers);
  const guardRoles = list(options.guardRoles);
  const document = guardrailsPolicyDocument({
    partition: (options.partition as string | undefined) ?? "aws",
    policy,
    ...(approvers ? { exceptionApprovers: approvers } : {}),
    ...(guardRoles ? { guardRoles } : {}),
  });
  io.stdout.write(`${renderPolicyDocument(document)}\n`);
  return 0;
}
