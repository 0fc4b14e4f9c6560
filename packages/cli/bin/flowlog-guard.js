#!/usr/bin/env node
// Plain JavaScript on purpose: it must be able to say "wrong Node version" on any Node.
const [major] = process.versions.node.split(".").map(Number);
if (major < 22) {
  process.stderr.write(
    `flowlog-guard needs Node.js 22 or newer; this is ${process.version}.\n` +
      "Run it through npm so the project's pinned Node 22 is used: `npm ci` then `npx flowlog-guard --help`.\n",
  );
  process.exit(2);
}
const { main } = await import("../src/main.ts");
process.exitCode = await main(process.argv.slice(2));
