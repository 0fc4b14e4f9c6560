import { isLoopbackUrl } from "@flowlog-guard/emulator";
import { beforeEach } from "vitest";
import { motoEndpoint } from "./moto.ts";

const endpoint = motoEndpoint();
if (!isLoopbackUrl(endpoint)) throw new Error(`Refusing to run: moto endpoint ${endpoint} is not loopback.`);

// Point every SDK client at moto with fake credentials, whatever the developer's shell has.
for (const name of Object.keys(process.env)) {
  if (name.startsWith("AWS_ENDPOINT_URL_") || name === "AWS_PROFILE" || name === "AWS_SESSION_TOKEN") {
    delete process.env[name];
  }
}
Object.assign(process.env, {
  AWS_ENDPOINT_URL: endpoint,
  AWS_ACCESS_KEY_ID: "testing",
  AWS_SECRET_ACCESS_KEY: "testing",
  AWS_REGION: "us-east-1",
  AWS_CONFIG_FILE: "/dev/null",
  AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
  AWS_EC2_METADATA_DISABLED: "true",
  // The handlers' JSON logs are for CloudWatch; tests assert on reports and state instead.
  POWERTOOLS_LOG_LEVEL: "SILENT",
});

beforeEach(async () => {
  const response = await fetch(`${endpoint}/moto-api/reset`, { method: "POST" });
  if (!response.ok) throw new Error(`moto reset failed: HTTP ${response.status}`);
});
