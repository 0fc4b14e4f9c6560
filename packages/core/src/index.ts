export * from "./aws-clients.ts";
export * from "./version.ts";
