"""Name linking: the project class a parameter's name points to, when exactly one class in scope matches it.

Does: reads a rendered slice (its first line names the slot: `<py> param node of visit(...)`) and the slice's
scope names, and returns the one scope class whose CamelCase words end like the parameter's name (`node` ->
`CSTNode`, `batchable_visitors` -> none, `visitor` -> `CSTVisitor`, `options` -> `Options`), made `X | None`
for a Python parameter whose default is `None`. This is the entity-linking idea of the seed papers in its
simplest form: the model almost never writes a project class by itself (user-defined types scored 0% on
dev-eval), and this link joins its candidates (`TypeDecoder.predict`), scored by the share of links that were
right on the calibration split (`evaluation.fit_link_prob`). Measured on the params of the session-3 corpus
(whose scope-name order leaked the labels, see `slices.Slicer.scope_names`): Python calib 484 links, 54% exact;
dev 764 links, 73% exact; TypeScript calib 159 links, 52%; dev 71, 76%. The learned linker (`linker.py`)
replaces this rule in a model that ships `linker.safetensors`; this rule serves models without one.
Does not: link returns, attributes or variables, dotted names, or anything when two or more classes match.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from typetool.languages import by_key
from typetool.model.linker import DEFAULT_NONE_RE
from typetool.typenames import name_words

_SLOT_RE = re.compile(r"<(\w+)> param (\w+) of")


def linked_type(text: str, scope_names: Sequence[str]) -> str | None:
    """The linked class type of the parameter in rendered slice `text`, or None (see the module docstring)."""
    m = _SLOT_RE.match(text)
    if m is None:
        return None
    try:
        language = by_key(m.group(1))
    except KeyError:
        return None
    var = m.group(2).strip("_")
    joined = var.lower().replace("_", "")
    last = [w for w in var.lower().split("_") if w][-1:] or [""]
    hits = []
    for name in dict.fromkeys(scope_names):
        bare = name.lstrip("_")
        if "." in name or not bare[:1].isupper():
            continue
        words = name_words(bare)
        if words and ("".join(words) == joined or (len(last[0]) >= 3 and words[-1] == last[0])):
            hits.append(name)
    if len(hits) != 1:
        return None
    if language.optional_default and DEFAULT_NONE_RE.search(text):
        return hits[0] + " | None"
    return hits[0]
