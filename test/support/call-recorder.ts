import type { AwsClients, ClientPool } from "@flowlog-guard/core";

/** One API call as the engine sent it: which client, in which region, with what input. */
export interface RecordedCall {
  service: (typeof SERVICES)[number] | "sqs" | "organizations";
  operation: string;
  region: string;
  input: Record<string, unknown>;
}

const SERVICES = [
  "ec2",
  "logs",
  "iam",
  "events",
  "sts",
  "securityhub",
  "cloudwatch",
  "s3",
  "cloudtrail",
  "kms",
] as const;

interface MiddlewareHost {
  middlewareStack: {
    add(
      middleware: (
        next: (args: { input: Record<string, unknown> }) => Promise<unknown>,
        context: { commandName?: string },
      ) => (args: { input: Record<string, unknown> }) => Promise<unknown>,
      options: { step: "initialize"; name: string },
    ): void;
  };
}

/** Records every command `client` sends (a client outside the pool: the CLI's SQS, Organizations). */
export function recordClient<T>(
  client: T,
  service: RecordedCall["service"],
  region: string,
  calls: RecordedCall[],
): T {
  (client as unknown as MiddlewareHost).middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? "Unknown").replace(/Command$/, "");
      calls.push({ service, operation, region, input: args.input });
      return next(args);
    },
    { step: "initialize", name: "testCallRecorder" },
  );
  return client;
}

/**
 * Wraps a pool so that every command any of its clients sends is recorded (before it is sent, so
 * calls that fail count too). Read `calls` after the run.
 */
export function recordingPool(pool: ClientPool): ClientPool & { calls: RecordedCall[] } {
  const calls: RecordedCall[] = [];
  const seen = new Set<AwsClients>();
  return {
    calls,
    counter: pool.counter,
    clientsFor(region) {
      const clients = pool.clientsFor(region);
      if (!seen.has(clients)) {
        seen.add(clients);
        for (const service of SERVICES) recordClient(clients[service], service, region, calls);
      }
      return clients;
    },
  };
}
