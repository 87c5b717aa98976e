#!/usr/bin/env node
// Syntax check with TypeScript's own parser (typescript@5.9.3): does `tsc --noEmit` find syntax errors in
// what typetool wrote?
//
// Reads a JSON request on stdin: {"root": "/abs/dir", "files": ["src/a.ts", ...]} (paths relative to root).
// Creates one program over exactly those files (no module resolution, no lib: syntax needs neither) and
// prints one JSON line per requested file, in request order:
//   {"file": "src/a.ts", "errors": ["3:14 TS1005: ',' expected.", ...]}
// Only syntactic diagnostics are reported (line and column are 1-based, columns in UTF-16 code units);
// type errors are not. A file that cannot be read gets one error saying so.
"use strict";

const fs = require("fs");
const path = require("path");
const ts = require("typescript");

const OPTIONS = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  noEmit: true,
  noResolve: true,
  noLib: true,
  types: [],
  allowJs: false,
  jsx: ts.JsxEmit.Preserve,
};

function main() {
  const req = JSON.parse(fs.readFileSync(0, "utf8"));
  if (typeof req.root !== "string" || !Array.isArray(req.files) || !req.files.every((f) => typeof f === "string")) {
    throw new Error('request must be {"root": string, "files": [string, ...]}');
  }
  const root = path.resolve(req.root);
  const abs = req.files.map((rel) => path.resolve(root, rel));
  const program = ts.createProgram({ rootNames: abs.filter((f) => fs.existsSync(f)), options: OPTIONS });
  req.files.forEach((rel, i) => {
    const sf = program.getSourceFile(abs[i]);
    const errors = [];
    if (!sf) {
      errors.push(`cannot read ${rel}`);
    } else {
      for (const d of program.getSyntacticDiagnostics(sf)) {
        const where = d.start === undefined ? "" : (() => {
          const { line, character } = sf.getLineAndCharacterOfPosition(d.start);
          return `${line + 1}:${character + 1} `;
        })();
        errors.push(`${where}TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`);
      }
    }
    process.stdout.write(JSON.stringify({ file: rel, errors }) + "\n");
  });
}

try {
  main();
} catch (e) {
  process.stderr.write(`tsc-check: ${(e && e.message) || e}\n`);
  process.exit(2);
}
