"""The words of type and identifier names, for every language (`CamelCase`, `snake_case`, `HTTPClient`).

Does: splits names into words (the name linker and the slicer's name evidence compare them).
Does not: say which names a language builds in (each wing's `typenames`, through `Language.is_standard_type`
and `Language.grammar_names`), or parse types (`typeexpr`).
"""

from __future__ import annotations

import re

# the words of an identifier: `CSTNode` -> CST, Node; `parser_config` -> parser, config; `HTTPClient2` -> HTTP, Client2
CAMEL_PART_RE = re.compile(r"[A-Z]+(?![a-z])|[A-Z][a-z0-9]*|[a-z0-9]+")


def name_words(name: str) -> list[str]:
    """The lower-cased words of an identifier (`CAMEL_PART_RE`), underscores and `$` dropped."""
    return [w.lower() for w in CAMEL_PART_RE.findall(name)]
