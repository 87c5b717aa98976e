#!/usr/bin/env node
// TypeScript's own "infer from usage" code fix, as a baseline for typetool's TypeScript predictions.
//
// Reads a JSON request on stdin: {"root": "/abs/dir", "files": ["src/a.ts", ...]} (paths relative to root).
// Builds one LanguageService over the files (others under root are read from disk when imported), and for
// each file applies getCombinedCodeFix({type: "file"}, "inferFromUsage") of typescript@5.9.3. Prints one JSON
// line per requested file, in request order:
//   {"file": "src/a.ts", "edits": [{"start": 10, "end": 10, "newText": ": string"}, ...]}
// `start`/`end` are UTF-8 byte offsets into the file as it is on disk (a UTF-8 BOM counts 3 bytes), converted
// from TypeScript's UTF-16 offsets. Edits are sorted by start and never applied. A file that cannot be read or
// is not valid UTF-8, or on which TypeScript throws, gets `"edits": []` and an `"error"` string. Edits the fix
// makes to other files (it does not, for file scope, as of 5.9) are counted in `"foreign_edits"`, not listed.
//
// The fix only fires on implicit-any diagnostics (7005, 7006, 7008, 7010, 7019, 7032, 7033, 7034, 2683 under
// noImplicitAny, or their 704x suggestion twins), so it annotates parameters, `let x;` variables whose type
// evolves, members, accessors and `this`; it does not add return types to ordinary functions or annotate
// variables with initializers (TypeScript infers those). Besides `: T` insertions it can insert "(" ... ")"
// around a lone arrow-function parameter, `this: T, ` parameters, and import declarations for the types it
// names; typetool.ts.tsc.edits_to_insertions sorts those out.
"use strict";

const fs = require("fs");
const path = require("path");
const ts = require("typescript");

const COMPILER_OPTIONS = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  strict: false,
  noImplicitAny: true,
  noImplicitThis: true,
  allowJs: false,
  checkJs: false,
  skipLibCheck: true,
  noEmit: true,
  jsx: ts.JsxEmit.Preserve,
  types: [],
  resolveJsonModule: true,
};

function readRequest() {
  const raw = fs.readFileSync(0, "utf8");
  const req = JSON.parse(raw);
  if (typeof req.root !== "string" || !Array.isArray(req.files) || !req.files.every((f) => typeof f === "string")) {
    throw new Error('request must be {"root": string, "files": [string, ...]}');
  }
  return req;
}

// Decode a file strictly as UTF-8; the BOM is dropped from the text TypeScript sees and counted in `bomBytes`.
function loadFile(abs) {
  const bytes = fs.readFileSync(abs);
  const bomBytes = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes.subarray(bomBytes));
  return { text, bomBytes };
}

// byteOffset[i] = UTF-8 byte offset of UTF-16 code unit i (a low surrogate maps to its pair's start).
function utf8Offsets(text, base) {
  const out = new Uint32Array(text.length + 1);
  let b = base;
  for (let i = 0; i < text.length; i++) {
    out[i] = b;
    const c = text.charCodeAt(i);
    if (c < 0x80) b += 1;
    else if (c < 0x800) b += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      out[i + 1] = b;
      b += 4;
      i++;
    } else b += 3;
  }
  out[text.length] = b;
  return out;
}

function main() {
  const req = readRequest();
  const root = path.resolve(req.root);
  const loaded = new Map(); // abs -> {text, bomBytes} | {error}
  for (const rel of req.files) {
    const abs = path.resolve(root, rel);
    try {
      loaded.set(abs, loadFile(abs));
    } catch (e) {
      loaded.set(abs, { error: e instanceof TypeError ? "not valid UTF-8" : String(e.message || e) });
    }
  }
  const scriptNames = [...loaded.entries()].filter(([, v]) => !v.error).map(([k]) => k);
  const host = {
    getScriptFileNames: () => scriptNames,
    getScriptVersion: () => "0",
    getScriptSnapshot: (fileName) => {
      const mine = loaded.get(path.resolve(fileName));
      const text = mine && !mine.error ? mine.text : ts.sys.readFile(fileName);
      return text === undefined ? undefined : ts.ScriptSnapshot.fromString(text);
    },
    getCurrentDirectory: () => root,
    getCompilationSettings: () => COMPILER_OPTIONS,
    getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
    fileExists: ts.sys.fileExists,
    readFile: ts.sys.readFile,
    readDirectory: ts.sys.readDirectory,
    directoryExists: ts.sys.directoryExists,
    getDirectories: ts.sys.getDirectories,
    useCaseSensitiveFileNames: () => ts.sys.useCaseSensitiveFileNames,
  };
  const service = ts.createLanguageService(host, ts.createDocumentRegistry());
  for (const rel of req.files) {
    const abs = path.resolve(root, rel);
    const file = loaded.get(abs);
    const out = { file: rel, edits: [] };
    if (file.error) {
      out.error = file.error;
    } else {
      try {
        const newline = file.text.includes("\r\n") ? "\r\n" : "\n";
        const fix = service.getCombinedCodeFix(
          { type: "file", fileName: abs },
          "inferFromUsage",
          ts.getDefaultFormatCodeSettings(newline),
          {},
        );
        let offsets = null;
        let foreign = 0;
        for (const change of fix.changes) {
          if (path.resolve(change.fileName) !== abs) {
            foreign += change.textChanges.length;
            continue;
          }
          offsets = offsets || utf8Offsets(file.text, file.bomBytes);
          for (const tc of change.textChanges) {
            out.edits.push({
              start: offsets[tc.span.start],
              end: offsets[tc.span.start + tc.span.length],
              newText: tc.newText,
            });
          }
        }
        out.edits.sort((a, b) => a.start - b.start || a.end - b.end);
        if (foreign) out.foreign_edits = foreign;
      } catch (e) {
        out.error = String((e && e.message) || e);
      }
    }
    process.stdout.write(JSON.stringify(out) + "\n");
  }
}

try {
  main();
} catch (e) {
  process.stderr.write(`tsc-infer: ${(e && e.message) || e}\n`);
  process.exit(2);
}
