"""Latency of `typetool lsp` through a real LSP client (pygls), on a 1,000-line file.

    python benchmarks/bench_lsp.py --model runs/py-compact [--file some.py] [--repeat 5] [--json]

Measures, as an editor sees them (wall clock from sending the request to the answer):
- cold: a new server process (imports, model load) until the first inlay hints for the visible part of the
  file (lines 0-60, what VS Code asks for first), and until hints for the whole file;
- warm, the file already seen: reopening it, and typing in it (a change inside a function, then hints: what
  happens on every keystroke);
- warm, a file never seen (the model must run for the visible slots), and the whole of such a file;
- hover, code action and code action resolve (the edit, with its safety proof) on a warm server.
Prints one line per figure (median and max over --repeat runs for warm figures). Torch runs with one thread
(`--threads 1`, the server's default); the machine's load shows in the figures, so run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lsprotocol import types as T
from pygls.lsp.client import LanguageClient

VIEWPORT = T.Range(T.Position(0, 0), T.Position(60, 0))
WHOLE = T.Range(T.Position(0, 0), T.Position(100_000, 0))
CAPS = T.ClientCapabilities(
    workspace=T.WorkspaceClientCapabilities(configuration=True,
                                            workspace_edit=T.WorkspaceEditClientCapabilities(document_changes=True)),
    text_document=T.TextDocumentClientCapabilities(
        inlay_hint=T.InlayHintClientCapabilities(), hover=T.HoverClientCapabilities(),
        code_action=T.CodeActionClientCapabilities(
            code_action_literal_support=T.ClientCodeActionLiteralOptions(
                code_action_kind=T.ClientCodeActionKindOptions(value_set=[""])),
            resolve_support=T.ClientCodeActionResolveOptions(properties=["edit"]))))


def make_file(lines: int = 1000, seed: int = 0, suffix: str = "") -> str:
    """A deterministic, realistic-looking module of about `lines` lines (classes, methods, functions, non-ASCII)."""
    rng = random.Random(seed)
    nouns = ["order", "item", "user", "price", "name", "path", "count", "größe", "total", "record", "queue",
             "limit", "label", "score", "token"]
    out = ['"""Generated for bench_lsp.py: a module like the ones people write."""', "import os", "import json",
           "from collections import defaultdict", ""]
    k = 0
    while True:
        a, b, c = rng.sample(nouns, 3)
        k += 1
        cls = f"{a.capitalize()}Store{k}{suffix}"
        block = ["", "", f"class {cls}:", f'    """Keeps {a}s by {b} (ünïcode 😀 in a docstring)."""', "",
                f"    def __init__(self, {a}s, {b}=None, {c}=0):",
                f"        self.{a}s = list({a}s)", f"        self.{b} = {b} or {{}}", f"        self.{c} = {c}",
                "", f"    def add(self, {a}, weight=1.0):", f"        self.{a}s.append({a})",
                f"        self.{c} += weight", f"        return len(self.{a}s)", "",
                "    def find(self, key, default=None):",
                f'        """The first {a} whose key is `key`, else `default`."""', f"        for x in self.{a}s:",
                "            if getattr(x, 'key', None) == key:", "                return x", "        return default",
                "", "    def summary(self):", "        lines = []",
                f"        for i, x in enumerate(self.{a}s):", "            # one line per entry, numbered from 1",
                "            lines.append(f'{i + 1:>4} {x!r}')", "        if not lines:",
                "            return '(empty)'", "        return '\\n'.join(lines)",
                "", "", f"def load_{a}{k}{suffix}(path, encoding='utf-8', strict=False):",
                f'    """Read {a}s from a JSON file and group them by {b}."""',
                "    if not os.path.exists(path):", "        if strict:",
                "            raise FileNotFoundError(path)", "        return {}",
                "    with open(path, encoding=encoding) as fh:", "        data = json.load(fh)",
                "    groups = defaultdict(list)", "    for row in data:",
                "        # rows without the key are kept under None",
                f"        groups[row.get('{b}')].append(row)", "    if strict and not groups:",
                "        raise ValueError(f'empty file: {path}')", "    return dict(groups)"]
        if len(out) + len(block) > lines:
            break
        out += block
    out += ["# (padding)"] * (lines - len(out))
    return "\n".join(out) + "\n"


class Bench:
    def __init__(self, command: list[str], root: Path, settings: dict[str, Any]) -> None:
        self.command, self.root, self.settings = command, root, settings
        self.client = LanguageClient("bench", "1")
        self.version = 0

        @self.client.feature(T.WORKSPACE_CONFIGURATION)
        def configuration(_params: T.ConfigurationParams) -> list[Any]:
            return [self.settings]

        @self.client.feature(T.WINDOW_SHOW_MESSAGE)
        def show(params: T.ShowMessageParams) -> None:
            print(f"  [server] {params.message}", file=sys.stderr)

        @self.client.feature(T.WINDOW_LOG_MESSAGE)
        def log(_params: T.LogMessageParams) -> None:
            return None

    async def start(self) -> None:
        await self.client.start_io(*self.command)
        await self.client.initialize_async(T.InitializeParams(
            capabilities=CAPS, root_uri=self.root.as_uri(),
            workspace_folders=[T.WorkspaceFolder(self.root.as_uri(), "bench")]))
        self.client.initialized(T.InitializedParams())

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()

    def open(self, uri: str, text: str) -> None:
        self.version += 1
        self.client.text_document_did_open(T.DidOpenTextDocumentParams(
            T.TextDocumentItem(uri, "python", self.version, text)))

    def close(self, uri: str) -> None:
        self.client.text_document_did_close(T.DidCloseTextDocumentParams(T.TextDocumentIdentifier(uri)))

    def change(self, uri: str, line: int, text: str) -> None:
        self.version += 1
        self.client.text_document_did_change(T.DidChangeTextDocumentParams(
            T.VersionedTextDocumentIdentifier(uri=uri, version=self.version),
            [T.TextDocumentContentChangePartial(range=T.Range(T.Position(line, 0), T.Position(line, 0)), text=text)]))

    async def hints(self, uri: str, rng: T.Range = VIEWPORT) -> tuple[float, int]:
        t = time.perf_counter()
        result = await self.client.text_document_inlay_hint_async(T.InlayHintParams(T.TextDocumentIdentifier(uri),
                                                                                    rng))
        return time.perf_counter() - t, len(result or [])


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.0f} ms"


async def run(args: argparse.Namespace) -> dict[str, Any]:
    text = Path(args.file).read_text(encoding="utf-8") if args.file else make_file(args.lines)
    root = Path(tempfile.mkdtemp(prefix="bench_lsp_"))
    (root / "pyproject.toml").write_text("[tool.typetool]\n")
    path = root / "module.py"
    path.write_text(text, encoding="utf-8")
    uri = path.as_uri()
    command = [sys.executable, "-m", "typetool", "lsp", "--threads", str(args.threads)]
    settings: dict[str, Any] = {"model": str(Path(args.model).resolve())} if args.model else {}
    results: dict[str, Any] = {"file_lines": text.count("\n"), "threads": args.threads}

    bench = Bench(command, root, settings)
    t0 = time.perf_counter()
    await bench.start()
    bench.open(uri, text)
    _first, n_view = await bench.hints(uri)
    results["cold_first_hints_viewport_s"] = time.perf_counter() - t0
    print(f"cold: first hints, lines 0-60 ({n_view} hints)    {ms(results['cold_first_hints_viewport_s'])}  "
          f"(server start, model load, analysis, {n_view} predictions)")
    t = time.perf_counter()
    _, n_all = await bench.hints(uri, WHOLE)
    results["cold_whole_file_s"] = time.perf_counter() - t0
    results["slots"] = n_all
    print(f"cold: hints for the whole file ({n_all} hints)   {ms(results['cold_whole_file_s'])}  "
          f"(+{ms(time.perf_counter() - t).strip()} after the first)")

    def summary(name: str, values: list[float]) -> None:
        results[name] = {"median_s": statistics.median(values), "max_s": max(values), "runs": len(values)}
        print(f"warm: {name:<38} {ms(statistics.median(values))}  (max {ms(max(values)).strip()}, "
              f"{len(values)} runs)")

    reopen = []
    for _ in range(args.repeat):
        bench.close(uri)
        bench.open(uri, text)
        reopen.append((await bench.hints(uri))[0])
    summary("reopen, hints lines 0-60", reopen)

    typing = []
    lines = text.split("\n")
    body = next(i for i, line in enumerate(lines[:60]) if line.startswith("        ") and i > 10)
    for k in range(args.repeat):
        bench.change(uri, body, f"        _probe{k} = {k}\n")
        typing.append((await bench.hints(uri))[0])
    summary("edit in a function, hints lines 0-60", typing)
    typing_all = []
    for k in range(args.repeat):
        bench.change(uri, body, f"        _probe_all{k} = {k}\n")
        typing_all.append((await bench.hints(uri, WHOLE))[0])
    summary("edit in a function, hints whole file", typing_all)

    unseen, unseen_all = [], []
    for k in range(args.repeat):
        other = root / f"unseen{k}.py"
        fresh = make_file(args.lines, seed=k + 1, suffix=f"_{k}") if not args.file else \
            text.replace("def ", f"def u{k}_")
        other.write_text(fresh, encoding="utf-8")
        bench.open(other.as_uri(), fresh)
        unseen.append((await bench.hints(other.as_uri()))[0])
        if k == 0:
            t = time.perf_counter()
            await bench.hints(other.as_uri(), WHOLE)
            unseen_all.append(time.perf_counter() - t + unseen[-1])
        bench.close(other.as_uri())
    summary("unseen file, hints lines 0-60", unseen)
    summary("unseen file, hints whole file", unseen_all)

    hover, actions, resolve = [], [], []
    view = root / "view.py"  # the original text again, under another name: its predictions are cached
    view.write_text(text, encoding="utf-8")
    bench.open(view.as_uri(), text)
    await bench.hints(view.as_uri())
    doc = T.TextDocumentIdentifier(view.as_uri())
    defs = [(i, line.index("(") + 1) for i, line in enumerate(text.split("\n")[:60])
            if line.lstrip().startswith("def ") and "(self, " not in line]
    for k in range(args.repeat):
        pos = T.Position(*defs[k % len(defs)])
        t = time.perf_counter()
        await bench.client.text_document_hover_async(T.HoverParams(doc, pos))
        hover.append(time.perf_counter() - t)
        t = time.perf_counter()
        acts = await bench.client.text_document_code_action_async(T.CodeActionParams(
            doc, T.Range(pos, pos), T.CodeActionContext(diagnostics=[])))
        actions.append(time.perf_counter() - t)
        if acts:
            t = time.perf_counter()
            await bench.client.code_action_resolve_async(acts[0])  # type: ignore[arg-type]
            resolve.append(time.perf_counter() - t)
    summary("hover", hover)
    summary("code actions", actions)
    if resolve:
        summary("code action resolve (edit + proof)", resolve)
    await bench.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="model directory (default: the server's default, the shipped model)")
    ap.add_argument("--file", help="a Python file to use instead of the generated one")
    ap.add_argument("--lines", type=int, default=1000, help="lines of the generated file")
    ap.add_argument("--repeat", type=int, default=5, help="runs of each warm figure")
    ap.add_argument("--threads", type=int, default=1, help="torch threads in the server")
    ap.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = ap.parse_args(argv)
    results = asyncio.run(run(args))
    if args.json:
        print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
