import { describe, expect, it } from "vitest";
import { ApiCallCounter, globalRegionOf } from "../src/aws-clients.ts";

describe("ApiCallCounter", () => {
  it("counts per service and operation and totals them", () => {
    const counter = new ApiCallCounter();
    counter.record("EC2", "DescribeVpcs");
    counter.record("EC2", "DescribeVpcs");
    counter.record("Logs", "CreateLogGroup");
    counter.recordRetries(2);

    expect(counter.total).toBe(3);
    expect(counter.count("EC2", "DescribeVpcs")).toBe(2);
    expect(counter.retryAttempts).toBe(2);
    expect(counter.byOperation()).toEqual({ "EC2:DescribeVpcs": 2, "Logs:CreateLogGroup": 1 });
  });
});

describe("globalRegionOf", () => {
  it.each([
    ["eu-west-1", "us-east-1"],
    ["cn-northwest-1", "cn-north-1"],
    ["us-gov-east-1", "us-gov-west-1"],
  ])("%s -> %s", (region, expected) => {
    expect(globalRegionOf(region)).toBe(expected);
  });
});
