import { createFixAllHandler } from "@flowlog-guard/functions/fix-all-handler";
import { createRemediateHandler } from "@flowlog-guard/functions/remediate-handler";
import { createRuntime } from "@flowlog-guard/functions/runtime";
import { describe, expect, it } from "vitest";
import { createVpc } from "./support/aws.ts";

type Emf = Record<string, unknown> & {
  _aws: {
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
};

describe("Powertools metrics (EMF) from the functions", () => {
  it("fix-all emits Remediations, RemediationFailures, RefusedEvents and UndeliveredRecords in the flowlog-guard namespace", async () => {
    const runtime = await createRuntime({});
    await createVpc(runtime.pool, "eu-west-1");
    await createVpc(runtime.pool, "eu-west-1", {}, "10.1.0.0/16");

    await createFixAllHandler(runtime)(
      { regions: ["eu-west-1"] },
      { getRemainingTimeInMillis: () => 900_000 },
    );

    const emf = runtime.metrics.serializeMetrics() as unknown as Emf;
    expect(emf._aws.CloudWatchMetrics[0]!.Namespace).toBe("flowlog-guard");
    expect(emf._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([["service"]]);
    expect(emf._aws.CloudWatchMetrics[0]!.Metrics.map((m) => m.Name).sort()).toEqual([
      "RefusedEvents",
      "RemediationFailures",
      "Remediations",
      "UndeliveredRecords",
    ]);
    // Two new VPCs plus moto's default VPC.
    expect(emf).toMatchObject({
      service: "flowlog-guard",
      Remediations: 3,
      RemediationFailures: 0,
      UndeliveredRecords: 0,
    });
  });

  it("remediate counts a refused event, then rethrows it", async () => {
    const runtime = await createRuntime({});

    await expect(
      createRemediateHandler(runtime)({ "detail-type": "Nonsense", detail: {} }),
    ).rejects.toThrow();

    expect(runtime.metrics.serializeMetrics()).toMatchObject({ RefusedEvents: 1, Remediations: 0 });
  });
});
