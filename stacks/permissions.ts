import type { PolicyDocument } from "@flowlog-guard/core/data";

/** The shape `sst.aws.Function`'s `permissions` takes. */
export interface FunctionPermission {
  effect?: "allow" | "deny";
  actions: string[];
  resources: string[];
  conditions?: { test: string; variable: string; values: string[] }[];
}

/** Turns an IAM policy document (core's least-privilege data) into SST function permissions, one per statement. */
export function permissionsFromDocument(document: PolicyDocument): FunctionPermission[] {
  return document.Statement.map((statement) => {
    const conditions = Object.entries(statement.Condition ?? {}).flatMap(([test, variables]) =>
      Object.entries(variables).map(([variable, values]) => ({ test, variable, values: [values].flat() })),
    );
    return {
      effect: statement.Effect === "Allow" ? "allow" : "deny",
      actions: [statement.Action].flat(),
      resources: [statement.Resource ?? []].flat(),
      ...(conditions.length > 0 ? { conditions } : {}),
    };
  });
}
