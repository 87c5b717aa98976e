// The typetool VS Code extension: starts `typetool lsp` and gives it the editor's Python, TypeScript and TSX
// documents. All the work is in the server.
import * as vscode from "vscode";
import { LanguageClient, LanguageClientOptions, ServerOptions } from "vscode-languageclient/node";
import {
  documentSelector, isServed, labelText, needsRestart, partitionHints, readSettings, serverCommand, serverSettings, Settings,
} from "./config";

let client: LanguageClient | undefined;
let settings: Settings;
const dimmed = vscode.window.createTextEditorDecorationType({});
const dimmedByDocument = new Map<string, vscode.DecorationOptions[]>();

function current(): Settings {
  const config = vscode.workspace.getConfiguration("typetool");
  return readSettings((key) => config.get(key));
}

function redraw(): void {
  for (const editor of vscode.window.visibleTextEditors) {
    editor.setDecorations(dimmed, dimmedByDocument.get(editor.document.uri.toString()) ?? []);
  }
}

function dimmedDecoration(hint: vscode.InlayHint): vscode.DecorationOptions {
  const text = labelText(hint.label as string | vscode.InlayHintLabelPart[]);
  return {
    range: new vscode.Range(hint.position, hint.position),
    hoverMessage: hint.tooltip,
    renderOptions: {
      after: {
        contentText: (hint.paddingLeft ? "\u00a0" : "") + text,
        color: new vscode.ThemeColor("editorInlayHint.foreground"),
        fontStyle: "italic",
        textDecoration: "none; opacity: 0.45; font-size: 0.9em",
      },
    },
  };
}

async function start(context: vscode.ExtensionContext): Promise<void> {
  settings = current();
  const { command, args } = serverCommand(settings);
  const serverOptions: ServerOptions = { command, args, options: { env: process.env } };
  const clientOptions: LanguageClientOptions = {
    documentSelector: documentSelector(), // Python, TypeScript and TSX (saved and untitled)
    synchronize: { configurationSection: "typetool" },
    initializationOptions: { settings: serverSettings(settings) },
    middleware: {
      provideInlayHints: async (document, range, token, next) => {
        const hints = (await next(document, range, token)) ?? [];
        const { shown, dimmed: low } = partitionHints(hints, settings.inlayHints.dimLowConfidence);
        dimmedByDocument.set(document.uri.toString(), low.map(dimmedDecoration));
        redraw();
        return shown;
      },
    },
  };
  client = new LanguageClient("typetool", "typetool", serverOptions, clientOptions);
  try {
    await client.start();
  } catch (error) {
    void vscode.window.showErrorMessage(
      `typetool: cannot start \`${[command, ...args].join(" ")}\`: ${String(error)}. ` +
        "Set typetool.interpreter (a Python with typetool installed) or typetool.path.");
  }
  context.subscriptions.push({ dispose: () => void client?.stop() });
}

async function serverCommandFor(name: string, ...args: unknown[]): Promise<unknown> {
  if (client === undefined) {
    void vscode.window.showErrorMessage("typetool: the server is not running");
    return undefined;
  }
  return client.sendRequest("workspace/executeCommand", { command: `typetool.server.${name}`, arguments: args });
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  context.subscriptions.push(
    dimmed,
    vscode.commands.registerCommand("typetool.annotateFile", async () => {
      const document = vscode.window.activeTextEditor?.document;
      if (document !== undefined && !isServed(document.languageId)) {
        void vscode.window.showInformationMessage("typetool annotates Python and TypeScript files only.");
      } else if (document !== undefined) {
        await serverCommandFor("annotateFile", document.uri.toString());
      }
    }),
    vscode.commands.registerCommand("typetool.annotateWorkspace", () => serverCommandFor("annotateWorkspace")),
    vscode.commands.registerCommand("typetool.showPredictionDetails", async () => {
      const editor = vscode.window.activeTextEditor;
      if (editor === undefined) {
        return;
      }
      const text = await serverCommandFor("showPredictionDetails", editor.document.uri.toString(),
        { line: editor.selection.active.line, character: editor.selection.active.character });
      const content = typeof text === "string" ? text : "typetool: no slot (parameter, return, variable or " +
        "attribute without an annotation) at the cursor.";
      const doc = await vscode.workspace.openTextDocument({ content, language: "markdown" });
      await vscode.commands.executeCommand("markdown.showPreviewToSide", doc.uri);
    }),
    vscode.commands.registerCommand("typetool.restart", async () => {
      await client?.stop();
      await start(context);
    }),
    vscode.window.onDidChangeVisibleTextEditors(redraw),
    vscode.workspace.onDidCloseTextDocument((doc) => dimmedByDocument.delete(doc.uri.toString())),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (!event.affectsConfiguration("typetool")) {
        return;
      }
      const before = settings;
      settings = current();
      if (!settings.inlayHints.enable || !settings.inlayHints.dimLowConfidence) {
        dimmedByDocument.clear();
        redraw();
      }
      if (needsRestart(before, settings)) {
        await client?.stop();
        await start(context);
      } // otherwise the client forwards the change and the server applies it without a restart
    }),
  );
  await start(context);
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
