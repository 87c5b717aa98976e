import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  documentSelector, isServed, labelText, LANGUAGES, needsRestart, partitionHints, readSettings, serverCommand,
  serverSettings,
} from "../src/config";

function settingsFrom(values: Record<string, unknown>) {
  return readSettings((key) => values[key]);
}

describe("serverCommand", () => {
  it("runs typetool from PATH by default", () => {
    assert.deepEqual(serverCommand(settingsFrom({})), { command: "typetool", args: ["lsp"] });
  });
  it("prefers an explicit executable, with its leading arguments", () => {
    const s = settingsFrom({ path: ["/opt/tt/bin/typetool", "--no-color"], interpreter: ["/usr/bin/python3"],
      serverArgs: ["--threads", "2"] });
    assert.deepEqual(serverCommand(s), { command: "/opt/tt/bin/typetool", args: ["--no-color", "lsp", "--threads", "2"] });
  });
  it("runs the module with the configured interpreter", () => {
    const s = settingsFrom({ interpreter: ["/venv/bin/python", "-X", "utf8"] });
    assert.deepEqual(serverCommand(s), { command: "/venv/bin/python", args: ["-X", "utf8", "-m", "typetool", "lsp"] });
  });
  it("ignores values of the wrong type", () => {
    assert.deepEqual(serverCommand(settingsFrom({ path: "typetool", interpreter: [3, ""] })),
      { command: "typetool", args: ["lsp"] });
  });
});

describe("serverSettings", () => {
  it("leaves unset values out, so that [tool.typetool] applies", () => {
    assert.deepEqual(serverSettings(settingsFrom({})), { inlayHints: { enable: true } });
  });
  it("passes what the user set", () => {
    const s = settingsFrom({ epsilon: 0.2, delta: 0.05, sites: ["params", "bogus", "returns"], model: " /m ",
      targetVersion: "py39", minConfidence: 0.7, "inlayHints.enable": false, epsilon_typo: 1 });
    assert.deepEqual(serverSettings(s), { inlayHints: { enable: false }, model: "/m", epsilon: 0.2, delta: 0.05,
      sites: ["params", "returns"], targetVersion: "py39", minConfidence: 0.7 });
  });
  it("drops numbers that are not finite", () => {
    assert.equal(serverSettings(settingsFrom({ epsilon: Number.NaN })).epsilon, undefined);
  });
});

describe("needsRestart", () => {
  it("restarts when the way the server is started changes", () => {
    assert.equal(needsRestart(settingsFrom({}), settingsFrom({ interpreter: ["/venv/bin/python"] })), true);
    assert.equal(needsRestart(settingsFrom({}), settingsFrom({ serverArgs: ["--threads", "2"] })), true);
  });
  it("only notifies the server about anything else", () => {
    assert.equal(needsRestart(settingsFrom({}), settingsFrom({ epsilon: 0.3, "inlayHints.enable": false })), false);
  });
});

describe("partitionHints", () => {
  const hints = [{ data: { lowConfidence: true } }, { data: { lowConfidence: false } }, {}, { data: null }];
  it("dims the hints the server marks as low confidence", () => {
    const { shown, dimmed } = partitionHints(hints, true);
    assert.deepEqual(dimmed, [hints[0]]);
    assert.deepEqual(shown, hints.slice(1));
  });
  it("shows everything normally when dimming is off", () => {
    assert.deepEqual(partitionHints(hints, false), { shown: hints, dimmed: [] });
  });
});

describe("labelText", () => {
  it("joins label parts", () => {
    assert.equal(labelText(": dict[str, ?]"), ": dict[str, ?]");
    assert.equal(labelText([{ value: "-> " }, { value: "int" }]), "-> int");
  });
});

describe("languages", () => {
  it("selects saved and untitled Python, TypeScript and TSX documents", () => {
    const selector = documentSelector();
    for (const language of ["python", "typescript", "typescriptreact"]) {
      assert.deepEqual(selector.filter((f) => f.language === language).map((f) => f.scheme), ["file", "untitled"]);
    }
    assert.equal(selector.length, 6);
  });
  it("serves no JavaScript", () => {
    assert.equal(isServed("typescriptreact"), true);
    assert.equal(isServed("javascript"), false);
    assert.equal(isServed("javascriptreact"), false);
  });
  it("activates on every language it serves (package.json)", () => {
    // out/test/config.test.js -> the extension folder
    const manifest = JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf-8"));
    assert.deepEqual(manifest.activationEvents, LANGUAGES.map((language) => `onLanguage:${language}`));
    for (const menu of Object.values(manifest.contributes.menus) as { when: string }[][]) {
      for (const item of menu) {
        assert.deepEqual(item.when.split(" || "), LANGUAGES.map((language) => `editorLangId == ${language}`));
      }
    }
  });
});
