import { writeFileSync } from "node:fs";
import { renderCliReference } from "../packages/cli/src/help-reference.ts";

writeFileSync(new URL("../docs/cli.md", import.meta.url), renderCliReference());
console.log("wrote docs/cli.md");
