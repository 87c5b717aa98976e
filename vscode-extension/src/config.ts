// Pure logic of the extension (no `vscode` import), unit-tested with `node --test`.

export interface Settings {
  path: string[];
  interpreter: string[];
  serverArgs: string[];
  model: string | null;
  epsilon: number | null;
  delta: number | null;
  sites: string[] | null;
  targetVersion: string | null;
  minConfidence: number | null;
  inlayHints: { enable: boolean; dimLowConfidence: boolean };
}

export interface ServerCommand {
  command: string;
  args: string[];
}

const SITES = new Set(["params", "returns", "variables", "attributes"]);

/** The VS Code language ids the server handles (`.d.ts` files are typescript too: the server answers them with
 * nothing; JavaScript is not served). Keep in sync with `activationEvents` in package.json. */
export const LANGUAGES = ["python", "typescript", "typescriptreact"] as const;

export interface DocumentFilter {
  scheme: string;
  language: string;
}

/** The language client's document selector: saved and untitled documents of each language the server handles. */
export function documentSelector(): DocumentFilter[] {
  return LANGUAGES.flatMap((language) => ["file", "untitled"].map((scheme) => ({ scheme, language })));
}

/** Whether typetool answers for a document of this VS Code language id. */
export function isServed(languageId: string): boolean {
  return (LANGUAGES as readonly string[]).includes(languageId);
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string" && v.length > 0) : [];
}

function numberOrNull(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function stringOrNull(value: unknown): string | null {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : null;
}

/** Reads the `typetool.*` settings through `get` (VS Code's `WorkspaceConfiguration.get`), ignoring bad values. */
export function readSettings(get: (key: string) => unknown): Settings {
  const sites = get("sites");
  return {
    path: strings(get("path")),
    interpreter: strings(get("interpreter")),
    serverArgs: strings(get("serverArgs")),
    model: stringOrNull(get("model")),
    epsilon: numberOrNull(get("epsilon")),
    delta: numberOrNull(get("delta")),
    sites: Array.isArray(sites) ? strings(sites).filter((s) => SITES.has(s)) : null,
    targetVersion: stringOrNull(get("targetVersion")),
    minConfidence: numberOrNull(get("minConfidence")),
    inlayHints: {
      enable: get("inlayHints.enable") !== false,
      dimLowConfidence: get("inlayHints.dimLowConfidence") !== false,
    },
  };
}

/** How to start the server: `typetool.path`, else `<interpreter> -m typetool`, else `typetool` on PATH. */
export function serverCommand(s: Settings): ServerCommand {
  const tail = ["lsp", ...s.serverArgs];
  if (s.path.length > 0) {
    return { command: s.path[0], args: [...s.path.slice(1), ...tail] };
  }
  if (s.interpreter.length > 0) {
    return { command: s.interpreter[0], args: [...s.interpreter.slice(1), "-m", "typetool", ...tail] };
  }
  return { command: "typetool", args: tail };
}

/** The settings the server reads (initializationOptions.settings); unset values are left out so that
 * `[tool.typetool]` in pyproject.toml applies. */
export function serverSettings(s: Settings): Record<string, unknown> {
  const out: Record<string, unknown> = { inlayHints: { enable: s.inlayHints.enable } };
  const optional: [string, unknown][] = [
    ["model", s.model], ["epsilon", s.epsilon], ["delta", s.delta], ["sites", s.sites],
    ["targetVersion", s.targetVersion], ["minConfidence", s.minConfidence],
  ];
  for (const [key, value] of optional) {
    if (value !== null) {
      out[key] = value;
    }
  }
  return out;
}

/** Whether a settings change needs a new server process (how it is started), not just a notification. */
export function needsRestart(before: Settings, after: Settings): boolean {
  return JSON.stringify(serverCommand(before)) !== JSON.stringify(serverCommand(after));
}

/** Splits hints into those shown normally and those to draw dimmed: the server marks low-confidence hints in
 * their `data` (vscode-languageclient keeps it on the hint objects it makes). */
export function partitionHints<H extends object>(hints: readonly H[], dim: boolean): { shown: H[]; dimmed: H[] } {
  const shown: H[] = [];
  const dimmed: H[] = [];
  for (const hint of hints) {
    const data = (hint as { data?: { lowConfidence?: unknown } | null }).data;
    (dim && data !== undefined && data !== null && data.lowConfidence === true ? dimmed : shown).push(hint);
  }
  return { shown, dimmed };
}

/** The text of a hint label (a string or label parts). */
export function labelText(label: string | readonly { value: string }[]): string {
  return typeof label === "string" ? label : label.map((part) => part.value).join("");
}
