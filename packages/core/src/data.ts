/**
 * The pure data of flowlog-guard (policy schema, event patterns, IAM documents, naming), without the
 * AWS SDK: what the SST stacks import.
 */

export * from "./alerts.ts";
export * from "./bucket-policy.ts";
export * from "./config.ts";
export * from "./errors.ts";
export * from "./event-patterns.ts";
export * from "./kms-keys.ts";
export * from "./member-template.ts";
export * from "./naming.ts";
export * from "./organization-config.ts";
export * from "./organization-policies.ts";
export * from "./policy-documents.ts";
export * from "./resource-policy-check.ts";
export * from "./s3-destination.ts";
export * from "./service-policy.ts";
export * from "./sweep-state-machine.ts";
export * from "./version.ts";
