"""Render media/screenshot.svg: a VS Code-like editor with typetool's inlay hints, a hover and the code actions.

    python media/render_screenshot.py                      # the illustrative scene below
    python media/render_screenshot.py --model DIR          # hints, hover and actions from a real `typetool lsp`
    npx --yes @resvg/resvg-js-cli media/screenshot.svg media/screenshot.png   # the PNG the README shows

Real VS Code is not available where this is built, so the picture is drawn: the code, hint labels, hover text
and action titles are exactly what the server sends (with --model), laid out the way VS Code draws them
(hints as grey pills, low-confidence hints dimmed by the extension, the hover and the light-bulb menu).
The default scene shows what a trained model says about the example; run with --model to refresh it.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

CODE = '''import json
from pathlib import Path


class Inventory:
    def __init__(self, path, items=None):
        self.path = Path(path)
        self.items = dict(items or {})

    def add(self, name, quantity=1):
        self.items[name] = self.items.get(name, 0) + quantity
        return self.items[name]

    def total(self):
        return sum(self.items.values())


def load(path, encoding="utf-8"):
    with open(path, encoding=encoding) as fh:
        data = json.load(fh)
    return Inventory(path, data["items"])
'''


@dataclass
class Hint:
    line: int
    col: int  # in characters (the example is ASCII)
    label: str
    low: bool = False


def at(line: int, after: str) -> int:
    """The column just after the first `after` on `line` of CODE (where VS Code draws a hint)."""
    text = CODE.split("\n")[line]
    return text.index(after) + len(after)


# what a trained model says about CODE (illustrative until the shipped model exists; see --model)
HINTS = [Hint(5, at(5, "path"), ": str | Path", low=True), Hint(5, at(5, "items"), ": dict[str, ?] | None"),
         Hint(5, at(5, ")"), "-> None"), Hint(9, at(9, "name"), ": str"), Hint(9, at(9, "quantity"), ": int"),
         Hint(9, at(9, ")"), "-> int"), Hint(13, at(13, ")"), "-> int"), Hint(17, at(17, "path"), ": str"),
         Hint(17, at(17, "encoding"), ": str"), Hint(17, at(17, ")"), "-> Inventory")]
HOVER = (5, at(5, "items"), [
    ("**typetool** · parameter `items` of `Inventory.__init__`", "title"),
    ("Prediction set at ε = 0.1, δ = 0.1: `dict[str, ?] | None` (1 hole, written as `Any`).", "text"),
    ("| `dict[str, int] \\| None` | 62% |", "row"), ("| `dict[str, float] \\| None` | 14% |", "row"),
    ("| `dict[str, str] \\| None` | 9% |", "row"),
    ("Evidence (usage slice):", "text"), ("evidence: default None", "code"),
    ("value: = dict(items or {}) in __init__", "code"), ("callers: Inventory(path, data[\"items\"])", "code")])
ACTIONS = (17, at(17, "path"), ["typetool: annotate `path: str` (88%)",
                                "typetool: annotate `path: Path` (7%, candidate)",
                                "typetool: annotate function `load` (3 types)",
                                "typetool: annotate file with predicted types"])

W, H = 1180, 640
CW, LH, X0, Y0 = 8.43, 21.0, 64.0, 58.0  # char width (DejaVu Sans Mono 14px), line height, code origin
COLORS = {"kw": "#569cd6", "ctrl": "#c586c0", "str": "#ce9178", "num": "#b5cea8", "fn": "#dcdcaa",
          "cls": "#4ec9b0", "var": "#9cdcfe", "text": "#d4d4d4", "other": "#d4d4d4"}
TOKEN = re.compile(r'(?P<str>"[^"]*")|(?P<num>\b\d+\b)|(?P<word>[A-Za-z_]\w*)|(?P<other>.)')
KEYWORDS = {"def", "class", "None", "import", "from", "self", "or", "as", "in", "not", "and", "lambda"}
CONTROL = {"return", "with", "for", "if", "else", "yield"}


def esc(s: str) -> str:
    return html.escape(s, quote=True)


def tokens(line: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    prev = ""
    for m in TOKEN.finditer(line):
        kind, text = m.lastgroup or "other", m.group()
        if kind == "word":
            if text in CONTROL:
                kind = "ctrl"
            elif text in KEYWORDS:
                kind = "kw"
            elif prev in ("def",) or line[m.end():m.end() + 1] == "(" and text[0].islower():
                kind = "fn"
            elif text[0].isupper():
                kind = "cls"
            else:
                kind = "var"
        out.append((kind, text))
        if text.strip():
            prev = text
    return out


def render(hints: list[Hint], hover: tuple[int, int, list[tuple[str, str]]] | None,
           actions: tuple[int, int, list[str]] | None) -> str:
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
             'font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="14">'),
             f'<rect width="{W}" height="{H}" rx="10" fill="#1e1e1e"/>',
             f'<rect width="{W}" height="34" rx="10" fill="#2d2d2d"/><rect y="24" width="{W}" height="10" fill="#2d2d2d"/>',
             ('<circle cx="20" cy="17" r="6" fill="#ff5f57"/><circle cx="40" cy="17" r="6" fill="#febc2e"/>'
             '<circle cx="60" cy="17" r="6" fill="#28c840"/>'),
             '<rect x="90" y="6" width="150" height="28" fill="#1e1e1e"/>',
             ('<text x="104" y="25" fill="#e0e0e0" font-family="DejaVu Sans, sans-serif" font-size="13">'
             'inventory.py</text>')]
    by_line: dict[int, list[Hint]] = {}
    for h in hints:
        by_line.setdefault(h.line, []).append(h)
    shift: dict[tuple[int, int], float] = {}  # (line, col) -> x of that column after hints before it
    for n, line in enumerate(CODE.rstrip("\n").split("\n")):
        y = Y0 + n * LH
        parts.append(f'<text x="{X0 - 16}" y="{y}" fill="#6e7681" text-anchor="end">{n + 1}</text>')
        x = X0
        col = 0
        line_hints = sorted(by_line.get(n, []), key=lambda h: h.col)
        pieces: list[tuple[str, str]] = []
        for kind, text in tokens(line):
            pieces.extend((kind, ch) for ch in text) if any(col <= h.col < col + len(text) for h in line_hints) \
                else pieces.append((kind, text))
            col += len(text)
        col = 0
        for kind, text in pieces + [("text", "")]:
            for h in [h for h in line_hints if h.col == col]:
                label = ("\u00a0" if h.label.startswith("->") else "") + h.label
                width = len(label) * CW * 13 / 14 + 8
                if h.low:
                    parts.append(f'<text x="{x + 3}" y="{y}" fill="#9a9a9a" fill-opacity="0.5" font-style="italic" '
                                 f'font-size="13" xml:space="preserve">{esc(label)}</text>')
                else:
                    parts.append(f'<rect x="{x}" y="{y - 14}" width="{width}" height="19" rx="4" fill="#3a3d41"/>'
                                 f'<text x="{x + 4}" y="{y}" fill="#a6a6a6" font-size="13" xml:space="preserve">'
                                 f'{esc(label)}</text>')
                x += width + 2
            shift[(n, col)] = x
            if text:
                parts.append(f'<text x="{x}" y="{y}" fill="{COLORS[kind]}" xml:space="preserve">{esc(text)}</text>')
                x += len(text) * CW
                col += len(text)
    if actions is not None:
        line, col, titles = actions
        ax, ay = shift.get((line, col), X0 + col * CW), Y0 + line * LH
        parts.append(f'<circle cx="{X0 - 8}" cy="{ay - 7}" r="5" fill="#ffcc00"/>'
                     f'<rect x="{X0 - 11}" y="{ay - 3}" width="6" height="4" fill="#ffcc00"/>')
        bw, bh = 400, 26 + 24 * len(titles)
        parts.append(f'<rect x="{ax}" y="{ay + 8}" width="{bw}" height="{bh}" rx="5" fill="#252526" '
                     'stroke="#454545"/>')
        parts.append(f'<text x="{ax + 12}" y="{ay + 28}" fill="#8b8b8b" font-family="DejaVu Sans, sans-serif" '
                     'font-size="12">More Actions...</text>')
        for i, title in enumerate(titles):
            ty = ay + 52 + 24 * i
            if i == 0:
                parts.append(f'<rect x="{ax + 4}" y="{ty - 17}" width="{bw - 8}" height="23" rx="3" fill="#04395e"/>')
            parts.append(f'<text x="{ax + 14}" y="{ty}" fill="#e0e0e0" font-family="DejaVu Sans, sans-serif" '
                         f'font-size="13">{esc(title.replace("`", ""))}</text>')
    if hover is not None:
        line, col, rows = hover
        hx, hy = shift.get((line, col), X0 + col * CW) + 20, Y0 + line * LH + 10
        hx = min(hx, W - 560)
        hw, hh = 540, 30 + sum(22 for _ in rows) + 10
        parts.append(f'<rect x="{hx}" y="{hy}" width="{hw}" height="{hh}" rx="5" fill="#252526" stroke="#454545"/>')
        y = hy + 26
        for text, kind in rows:
            plain = text.replace("**", "").replace("`", "")
            if kind == "row":
                cells = [c.strip() for c in re.split(r"(?<!\\)\|", text.strip().strip("|"))]
                t, p = cells[0].replace("`", "").replace("\\|", "|"), cells[1]
                parts.append(f'<text x="{hx + 16}" y="{y}" fill="#ce9178">{esc(t)}</text>'
                             f'<text x="{hx + hw - 24}" y="{y}" fill="#d4d4d4" text-anchor="end">{esc(p)}</text>')
            elif kind == "code":
                parts.append(f'<rect x="{hx + 10}" y="{y - 15}" width="{hw - 20}" height="21" fill="#1e1e1e"/>'
                             f'<text x="{hx + 16}" y="{y}" fill="#d4d4d4" font-size="13">{esc(plain)}</text>')
            else:
                weight = ' font-weight="bold"' if kind == "title" else ""
                parts.append(f'<text x="{hx + 12}" y="{y}" fill="#e0e0e0" font-family="DejaVu Sans, sans-serif" '
                             f'font-size="13"{weight}>{esc(plain)}</text>')
            y += 22
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


async def from_server(model: str) -> tuple[list[Hint], tuple[int, int, list[tuple[str, str]]] | None,
                                           tuple[int, int, list[str]] | None]:
    """Ask a real `typetool lsp` for the hints, the hover on `items` and the actions on `name`."""
    from lsprotocol import types as T
    from pygls.lsp.client import LanguageClient

    root = Path(tempfile.mkdtemp())
    path = root / "inventory.py"
    path.write_text(CODE, encoding="utf-8")
    client = LanguageClient("render", "1")

    @client.feature(T.WORKSPACE_CONFIGURATION)
    def configuration(_params: T.ConfigurationParams) -> list[object]:
        return [{"model": model}]

    await client.start_io(sys.executable, "-m", "typetool", "lsp")
    await client.initialize_async(T.InitializeParams(capabilities=T.ClientCapabilities(
        workspace=T.WorkspaceClientCapabilities(configuration=True)), root_uri=root.as_uri()))
    client.initialized(T.InitializedParams())
    doc = T.TextDocumentIdentifier(path.as_uri())
    client.text_document_did_open(T.DidOpenTextDocumentParams(T.TextDocumentItem(doc.uri, "python", 1, CODE)))
    raw = await client.text_document_inlay_hint_async(T.InlayHintParams(doc, T.Range(T.Position(0, 0),
                                                                                     T.Position(99, 0))))
    hints = [Hint(h.position.line, h.position.character, str(h.label), bool(h.data and h.data.get("lowConfidence")))
             for h in raw or []]
    hov = await client.text_document_hover_async(T.HoverParams(doc, T.Position(5, 28)))
    hover = None
    if hov is not None and isinstance(hov.contents, T.MarkupContent):
        rows = []
        for line in hov.contents.value.split("\n"):
            if not line.strip() or line.startswith(("```", "|---", "| candidate")):
                continue
            rows.append((line, "title" if line.startswith("**") else "row" if line.startswith("|") else
                         "text" if not re.match(r"^[a-z]+: ", line) else "code"))
        hover = (5, at(5, "items"), rows[:9])
    acts = await client.text_document_code_action_async(T.CodeActionParams(
        doc, T.Range(T.Position(17, 10), T.Position(17, 10)), T.CodeActionContext(diagnostics=[])))
    actions = (17, at(17, "path"), [a.title for a in acts or []][:5])
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return hints, hover, actions


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="take hints, hover and actions from `typetool lsp` with this model")
    ap.add_argument("--out", default=str(Path(__file__).with_name("screenshot.svg")))
    args = ap.parse_args()
    scene = asyncio.run(from_server(args.model)) if args.model else (HINTS, HOVER, ACTIONS)
    Path(args.out).write_text(render(*scene), encoding="utf-8")
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
