#!/usr/bin/env node
// The `flowlog-guard` command. CommonJS written as ES5 on purpose: any Node, however old, must be able
// to parse this file so that it can say "wrong Node version" in one line instead of a stack trace. The
// package build (scripts/build/package.ts) ships this same file with ENTRY pointing at the built JavaScript.
"use strict";
var MINIMUM_NODE = "22.12.0";
var ENTRY = "../src/index.ts";

function isOlder(version, minimum) {
  var have = version.split(".").map(Number);
  var need = minimum.split(".").map(Number);
  var i;
  for (i = 0; i < need.length; i++) {
    if ((have[i] || 0) !== need[i]) return (have[i] || 0) < need[i];
  }
  return false;
}

if (isOlder(process.versions.node, MINIMUM_NODE)) {
  process.stderr.write(
    "flowlog-guard needs Node.js " +
      MINIMUM_NODE +
      " or newer, and this is " +
      process.version +
      ": install Node.js " +
      MINIMUM_NODE +
      " or newer (https://nodejs.org), or in a clone of the repository run it through npm (npx flowlog-guard), which uses the pinned Node 22.\n"
  );
  process.exit(2);
}

// V8's code cache in the temporary folder: later runs skip compiling the bundle (about 40% less CPU).
var nodeModule = require("node:module");
if (nodeModule.enableCompileCache) nodeModule.enableCompileCache();

// Written as a string so that Node versions without import() still parse this file.
var load = new Function("url", "return import(url)");
var entry = require("node:url").pathToFileURL(require("node:path").join(__dirname, ENTRY)).href;
load(entry).then(
  function (cli) {
    return cli.main(process.argv.slice(2)).then(function (code) {
      process.exitCode = code;
    });
  },
  function (error) {
    process.stderr.write("flowlog-guard: cannot load " + entry + ": " + (error && error.stack) + "\n");
    process.exitCode = 1;
  }
);
