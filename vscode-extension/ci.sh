#!/usr/bin/env bash
# Build, lint, test and package the VS Code extension (only `npm ci` needs the network).
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
npm run lint
npm run compile
npm test
# README links are relative to this folder, not to the repository root vsce assumes
npx vsce package --out typetool.vsix \
  --baseContentUrl https://github.com/typetool/typetool/blob/HEAD/vscode-extension \
  --baseImagesUrl https://github.com/typetool/typetool/raw/HEAD/vscode-extension
