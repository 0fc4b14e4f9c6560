import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

/** House style: a function fits on a screen (about 60 lines); a class stays well under 250 lines. */
const MAX_FUNCTION_LINES = 60;
const MAX_CLASS_LINES = 250;

/**
 * Units allowed to be longer, each with why. Keep this list short: split by what varies instead.
 * Keyed by `path:name`, relative to packages/core/src.
 */
const LONGER_ON_PURPOSE: Record<string, string> = {
  "evidence/html.ts:renderHtml": "one HTML document template, read top to bottom",
  "evidence/markdown.ts:renderMarkdown": "one Markdown document template, read top to bottom",
  "guardrails.ts:guardrailsPolicyDocument": "one SCP document literal",
  "cloudtrail.ts:parseCloudTrailEvent": "62 lines; not yet split (issue #10 follow-up)",
  "doctor-s3.ts:checkDeliveryPolicy": "62 lines; not yet split (issue #10 follow-up)",
};

const root = new URL("../src/", import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Every function and class longer than the house limits, as `path:name (lines)`. */
function oversizedUnits(): string[] {
  const found: string[] = [];
  for (const file of sourceFiles(root)) {
    const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node) => {
      const isClass = ts.isClassDeclaration(node);
      if (isClass || ts.isFunctionLike(node)) {
        const start = source.getLineAndCharacterOfPosition(node.getStart()).line;
        const lines = source.getLineAndCharacterOfPosition(node.getEnd()).line - start + 1;
        const name = (node as { name?: ts.Node }).name?.getText(source) ?? `(anonymous at line ${start + 1})`;
        const key = `${relative(root, file)}:${name}`;
        if (lines > (isClass ? MAX_CLASS_LINES : MAX_FUNCTION_LINES) && !(key in LONGER_ON_PURPOSE))
          found.push(`${key} (${lines} lines)`);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

describe("packages/core sizes", () => {
  it(`has no function over ${MAX_FUNCTION_LINES} lines and no class over ${MAX_CLASS_LINES}, except those listed with why`, () => {
    expect(oversizedUnits()).toEqual([]);
  });
});
