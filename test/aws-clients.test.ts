import { CreateVpcCommand, DescribeVpcsCommand } from "@aws-sdk/client-ec2";
import { createClientPool, createClients } from "@flowlog-guard/core";
import { describe, expect, it } from "vitest";
import { motoEndpoint } from "./support/moto.ts";

describe("createClients against moto", () => {
  it("creates a VPC and reads it back through the same factory, counting calls", async () => {
    const clients = createClients({ region: "eu-west-1" });

    const created = await clients.ec2.send(new CreateVpcCommand({ CidrBlock: "10.42.0.0/16" }));
    const vpcId = created.Vpc?.VpcId;
    const described = await clients.ec2.send(new DescribeVpcsCommand({ VpcIds: [vpcId!] }));

    expect(vpcId).toMatch(/^vpc-/);
    expect(described.Vpcs?.map((vpc) => vpc.CidrBlock)).toEqual(["10.42.0.0/16"]);
    expect(clients.counter.byOperation()).toEqual({ "EC2:CreateVpc": 1, "EC2:DescribeVpcs": 1 });
  });

  it("sends every request to the loopback moto endpoint, with the product in the user agent", async () => {
    const clients = createClients({ region: "us-west-2" });
    const seen: { host: string; userAgent: string }[] = [];
    clients.ec2.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { hostname: string; port?: number; headers: Record<string, string> };
        seen.push({
          host: `${request.hostname}:${request.port}`,
          userAgent: request.headers["user-agent"] ?? "",
        });
        return next(args);
      },
      { step: "finalizeRequest", name: "capture" },
    );

    await clients.ec2.send(new DescribeVpcsCommand({}));

    expect(seen[0]?.host).toBe(new URL(motoEndpoint()).host);
    expect(seen[0]?.userAgent).toContain("flowlog-guard/0.1.0");
  });

  it("keeps regions apart: a VPC made in one region is not seen in another", async () => {
    const west = createClients({ region: "eu-west-1" });
    const east = createClients({ region: "ap-southeast-2" });
    const created = await west.ec2.send(new CreateVpcCommand({ CidrBlock: "10.7.0.0/16" }));

    const eastVpcs = await east.ec2.send(new DescribeVpcsCommand({}));

    expect(eastVpcs.Vpcs?.map((vpc) => vpc.VpcId)).not.toContain(created.Vpc?.VpcId);
  });
});

describe("createClientPool rate limiting", () => {
  /** A clock that moves only when the limiter sleeps: the schedule is exact, whatever the machine's load. */
  function fakeClock() {
    const sleeps: number[] = [];
    let now = 0;
    return {
      sleeps,
      now: () => now,
      sleep: async (ms: number) => {
        sleeps.push(ms);
        now += ms;
      },
    };
  }

  it("paces calls per API at the configured rate (3/s, burst 3 with one to spare: 2 at once, then one every 1/3 s)", async () => {
    const clock = fakeClock();
    const pool = createClientPool({ apiRate: 3, limiterClock: clock });
    const ec2 = pool.clientsFor("eu-west-1").ec2;

    for (let i = 0; i < 7; i++) await ec2.send(new DescribeVpcsCommand({}));

    // Calls 3 to 7 each wait for a token (334 ms for the first, then the refill since; +25 ms margin).
    expect(clock.sleeps).toEqual([359, 333, 333, 334, 333]);
    expect(clock.now()).toBe(1_692);
    expect(pool.counter.count("EC2", "DescribeVpcs")).toBe(7);
  });

  it("does not limit with apiRate 0: no call waits", async () => {
    const clock = fakeClock();
    const pool = createClientPool({ apiRate: 0, limiterClock: clock });
    const ec2 = pool.clientsFor("eu-west-1").ec2;
    for (let i = 0; i < 7; i++) await ec2.send(new DescribeVpcsCommand({}));
    expect(clock.sleeps).toEqual([]);
    expect(pool.counter.count("EC2", "DescribeVpcs")).toBe(7);
  });
});
