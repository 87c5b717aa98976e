"""The code property graph as text: what `typetool graph` prints and the golden graph files hold.

Does: prints a language's graph (a networkx MultiDiGraph whose nodes carry `file`, `line`, `col`, `kind`,
`label` and whose edges carry `kind`, and an argument's `position` or `keyword`) sorted, one line per node of a
file and one per edge leaving or entering them, so that two runs diff cleanly.
Does not: build graphs (each wing's project does: `Language.graph`).
"""

from __future__ import annotations

import networkx as nx


def dump_graph(g: nx.MultiDiGraph, file: str | None = None) -> str:
    """A readable, sorted text dump: one line per node, then one line per edge leaving the file's nodes."""

    def label(n: int) -> str:
        a = g.nodes[n]
        where = f"{a['line']}:{a['col']}" if a.get("file") == file or file is None else f"{a['file']}:{a['line']}"
        return f"{where} {a['kind']} {a['label']}"

    def key(n: int) -> tuple[object, ...]:
        a = g.nodes[n]
        return (a.get("file", ""), a.get("line", 0), a.get("col", 0), a.get("kind", ""), a.get("label", ""))

    mine = {n for n in g.nodes if "kind" in g.nodes[n] and (file is None or g.nodes[n].get("file") == file)}
    lines = [f"node {label(n)}" for n in sorted(mine, key=key)]
    edge_lines: dict[str, tuple[object, ...]] = {}
    for a, b, attrs in g.edges(data=True):
        if a not in mine and b not in mine:
            continue
        if "kind" not in g.nodes[a] or "kind" not in g.nodes[b]:
            continue
        extra = ""
        if "position" in attrs:
            extra = f" #{attrs['position']}"
        elif "keyword" in attrs:
            extra = f" {attrs['keyword']}="
        edge_lines[f"edge {attrs['kind']}{extra}: {label(a)} -> {label(b)}"] = (attrs["kind"], key(a), key(b), extra)
    return "\n".join(lines + sorted(edge_lines, key=lambda e: edge_lines[e])) + "\n"
