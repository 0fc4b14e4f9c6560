import { guardConfig } from "./config.ts";
import { deployGuard } from "./remediation.ts";

export function run(stage: string) {
  return deployGuard(guardConfig(stage));
}
