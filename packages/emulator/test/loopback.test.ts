import { describe, expect, it } from "vitest";
import { isLoopbackUrl } from "../src/index.ts";

describe("isLoopbackUrl", () => {
  it.each([
    ["http://127.0.0.1:5000", true],
    ["http://127.8.9.10", true],
    ["http://localhost:4566", true],
    ["http://[::1]:5000", true],
    ["https://ec2.us-east-1.amazonaws.com", false],
    ["http://10.0.0.5:5000", false],
    ["http://127.0.0.1.evil.example", false],
    ["not a url", false],
  ])("%s -> %s", (url, expected) => {
    expect(isLoopbackUrl(url)).toBe(expected);
  });
});
