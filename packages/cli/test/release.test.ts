import { readdirSync, readFileSync } from "node:fs";
import { PRODUCT_VERSION } from "@flowlog-guard/core";
import { parse } from "acorn";
import { describe, expect, it } from "vitest";
import { main } from "../src/main.ts";

const read = (path: string) => readFileSync(new URL(`../../../${path}`, import.meta.url), "utf8");
const root = JSON.parse(read("package.json"));
const launcher = read("packages/cli/bin/flowlog-guard.cjs");

describe("one version: the package, the CLI, change records and the changelog agree", () => {
  it("every workspace package has the repository's version", () => {
    const versions = readdirSync(new URL("../../", import.meta.url)).map(
      (dir) => [dir, JSON.parse(read(`packages/${dir}/package.json`)).version] as const,
    );
    expect(versions.length).toBeGreaterThan(0);
    for (const [dir, version] of versions) expect({ dir, version }).toEqual({ dir, version: root.version });
  });

  it("change records (product.version) carry it", () => {
    expect(PRODUCT_VERSION).toBe(root.version);
  });

  it("flowlog-guard --version prints it", async () => {
    let stdout = "";
    const io = { stdout: { write: (text: string) => (stdout += text) }, stderr: { write: () => true } };
    const code = await main(["--version"], { ...io, env: {}, readStdin: async () => "" });
    expect({ code, stdout: stdout.trim() }).toEqual({ code: 0, stdout: root.version });
  });

  it("the changelog's latest release is it", () => {
    const released = /^## \[(\d+\.\d+\.\d+[^\]]*)\]/m.exec(read("CHANGELOG.md"));
    expect(released?.[1]).toBe(root.version);
  });
});

describe("the launcher (bin/flowlog-guard.cjs)", () => {
  it("is ES5, so that any Node can parse it and say it is too old", () => {
    expect(() =>
      parse(launcher, { ecmaVersion: 5, allowHashBang: true, sourceType: "script" }),
    ).not.toThrow();
  });

  it("asks for the Node version the engines field names", () => {
    const minimum = /var MINIMUM_NODE = "([^"]+)";/.exec(launcher)?.[1];
    expect(`>=${minimum}`).toBe(root.engines.node);
  });
});
