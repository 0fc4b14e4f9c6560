/// <reference path="./.sst/platform/config.d.ts" />
// The SST v4 app. Infrastructure lives in stacks/ and is wired up in the deploy issue; until then
// this app deploys nothing. Event patterns, IAM policies and defaults come from @flowlog-guard/core.
export default $config({
  app(input) {
    return {
      name: "flowlog-guard",
      home: "aws",
      removal: input?.stage === "production" || input?.stage === "prod" ? "retain" : "remove",
    };
  },
  async run() {},
});
