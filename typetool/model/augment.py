"""Training-data augmentation: rename a record's project types consistently, so the model learns to copy names.

Does: for a training record whose target names a project type that also appears in its input (in the scope
`names:` line, a constructor call, an isinstance check...), replace that name everywhere in the input, the
target and the scope names by a fresh, plausible identifier: new CamelCase parts of other project type names
before the name's own last word (`CSTNode` -> `ParserBatchNode`), so the word that ties a class to its uses
survives. A model that only memorizes its training packages' classes cannot
predict such a name; one that reads it from the slice can, and that is what a project's own classes need at
prediction time (the entity-linking idea of the seed papers). Deterministic per (seed, record index).
Does not: touch a language's builtin, typing and common stdlib names (`Language.is_standard_type`; other
stdlib or DOM classes may be renamed), dotted names (`np.ndarray`), lower-case names, names of one or two letters (most type
variables; longer ones such as `T_co` or `TData` are renamed), or names absent from the input; nor the type vocabulary, which
`train` builds from the original targets so renamed names never become decodable.
"""

from __future__ import annotations

import keyword
import random
import re
from collections.abc import Iterable, Mapping

from typetool.languages import by_key
from typetool.model.grammar import NAME_RE, builtin_names
from typetool.typenames import CAMEL_PART_RE

VERSION = 3  # part of the tokenized-data cache key: bump when renaming changes what it produces


def renameable(name: str, language: str) -> bool:
    """A project type name that training may rename (see the module docstring)."""
    if "." in name or len(name.strip("_")) < 3 or not name.strip("_")[:1].isupper():
        return False
    if name in builtin_names(language):
        return False
    return not by_key(language).is_standard_type(name)


def name_parts(targets: Iterable[str], language: str) -> list[str]:
    """CamelCase parts (`Visitor`, `Node`, `HTTP`) of the renameable names in `targets`, sorted, de-duplicated."""
    parts: set[str] = set()
    for t in targets:
        for n in NAME_RE.findall(t):
            if renameable(n, language):
                parts.update(p for p in CAMEL_PART_RE.findall(n.strip("_")) if p[:1].isupper() and len(p) >= 2)
    return sorted(parts)


def fresh_name(old: str, parts: list[str], rng: random.Random, taken: str, language: str = "py") -> str:
    """A CamelCase identifier with `old`'s leading underscores and last word (1-2 new parts before it; 1-3 parts
    when `old` has no capitalized last word of 3+ letters), that does not occur in `taken` and is itself
    renameable (never `None`, `Optional`, `Promise`...)."""
    lead = old[:len(old) - len(old.lstrip("_"))]
    own = CAMEL_PART_RE.findall(old.lstrip("_"))
    head = own[-1] if own and own[-1][:1].isupper() and len(own[-1]) >= 3 else ""
    for _ in range(50):
        # keep the head word (`...Visitor`, `...Node`): it is what ties a name to its uses and to the names of
        # the values it types (`visitor`, `node`); the rest is new
        new = lead + "".join(rng.choice(parts) for _ in range(rng.choice((1, 1, 2) if head else (1, 2, 2, 3))))
        new += head
        if (new != old and renameable(new, language) and not keyword.iskeyword(new)
                and not re.search(rf"(?<![\w$]){re.escape(new)}(?![\w$])", taken)):
            return new
    return lead + "".join(rng.choice(parts) for _ in range(4)) + f"X{rng.randrange(10**6)}"


def rename_record(record: Mapping[str, object], parts: list[str], rng: random.Random, language: str
                  ) -> dict[str, object]:
    """`record` with every renameable target name that occurs in its input replaced, consistently, by a fresh
    name; the record itself when there is none."""
    text, target = str(record["input"]), str(record["target"])
    olds = sorted({n for n in NAME_RE.findall(target) if renameable(n, language)
                   and re.search(rf"(?<![\w$]){re.escape(n)}(?![\w$])", text)}, key=len, reverse=True)
    if not olds or not parts:
        return dict(record)
    mapping: dict[str, str] = {}
    for old in olds:
        mapping[old] = fresh_name(old, parts, rng, text + " " + target + " " + " ".join(mapping.values()),
                                  language)
    pattern = re.compile(r"(?<![\w$])(" + "|".join(map(re.escape, olds)) + r")(?![\w$])")

    def sub(s: str) -> str:
        return pattern.sub(lambda m: mapping[m.group(1)], s)

    out = dict(record)
    out["input"], out["target"] = sub(text), sub(target)
    names = record.get("names")
    if isinstance(names, list):
        out["names"] = [mapping.get(str(n), n) for n in names]
    return out


def rename_records(records: Iterable[Mapping[str, object]], parts: list[str], prob: float, seed: int,
                   language: str, start: int = 0) -> list[dict[str, object]]:
    """Rename each record with probability `prob`; record i's choice and names depend only on (seed, i)."""
    out: list[dict[str, object]] = []
    for i, r in enumerate(records, start):
        rng = random.Random(f"{seed}:{i}")
        out.append(rename_record(r, parts, rng, language) if rng.random() < prob else dict(r))
    return out
