import * as pulumi from "@pulumi/pulumi";

/** A resource the stacks' wiring declared under Pulumi mocks, with the inputs it was given. */
export interface Recorded {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

/**
 * Installs Pulumi mocks that record every resource declared and give each a mock ARN (and an SQS
 * URL) in its `region` input, or eu-west-1. Call once per test file, before importing the wiring.
 */
export function recordResources(): { recorded: Recorded[]; ofType: (type: string) => Recorded[] } {
  const recorded: Recorded[] = [];
  pulumi.runtime.setMocks(
    {
      newResource(args) {
        recorded.push({ type: args.type, name: args.name, inputs: args.inputs });
        const region = (args.inputs.region as string | undefined) ?? "eu-west-1";
        return {
          id: `${args.name}-id`,
          state: {
            ...args.inputs,
            arn: `arn:aws:mock:${region}:111122223333:${args.name}`,
            url: `https://sqs.${region}.amazonaws.com/111122223333/${args.name}`,
            name: args.inputs.name ?? args.name,
          },
        };
      },
      call: (args) => args.inputs,
    },
    "flowlog-guard",
    "test",
    false,
  );
  return { recorded, ofType: (type) => recorded.filter((resource) => resource.type === type) };
}
