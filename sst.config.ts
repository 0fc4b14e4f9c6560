/// <reference path="./.sst/platform/config.d.ts" />
// The SST v4 app: `npx sst deploy --stage prod`. What it deploys lives in stacks/ (see docs/deploy.md);
// settings are in stacks/config.ts. No logic here.
export default $config({
  app(input) {
    const production = input?.stage === "prod" || input?.stage === "production";
    return {
      name: "flowlog-guard",
      home: "aws",
      removal: production ? "retain" : "remove",
      protect: production,
      providers: { aws: { region: (process.env.FLOWLOG_GUARD_HOME_REGION ?? "us-east-1") as "us-east-1" } },
    };
  },
  async run() {
    const stacks = await import("./stacks/index.ts");
    return stacks.run($app.stage);
  },
});
