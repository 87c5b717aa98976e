"""The CI check: predictions in, findings out (`typetool check`, the `typetool-check` pre-commit hook).

Does: decides, per slot, whether to report it, and renders the findings as text, JSON, SARIF 2.1.0 or GitHub
workflow commands; reads the lines changed since a git ref (`--changed-only`).

Two rules:

* `missing-annotation`: a slot without an annotation whose prediction is *confident*: the prediction set at
  the configured epsilon/delta is not all holes (typetool would write the type, fully or with `Any` holes)
  AND the calibrated confidence of the top-1 type is at least `min_confidence`. These are exactly the slots
  `typetool annotate` would write, minus the unsure ones.
* `suspicious-annotation` (`--verify`): an existing annotation outside the prediction set of the model's
  top-1 type at a strict epsilon (`verify_epsilon`, default 0.05, same delta). The PAC guarantee says that at
  most about that share of true annotations fall outside such sets, so one that does is likely wrong. Never
  reported when the set is all holes (the model knows nothing), when the annotation does not parse, or when
  it is entirely `Any`; an `Any` inside the annotation matches anything at its place (it is a deliberate
  escape hatch, not a wrong type).

Both languages: TypeScript slots (files .ts, .tsx, .mts, .cts) are predicted by the TypeScript model, their
annotations read with `ts.typeexpr.normalize_ts_label` and compared in TypeScript's normal form (`any` plays
`Any`'s part), and their types printed as TypeScript in messages and reports (`string[]`, holes `any`).

Does not: parse, slice or predict (the pipeline does), or write files (`writeback`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from typetool import __version__
from typetool.diagnostics import Diagnostic, Severity
from typetool.languages import by_key, key_of
from typetool.pipeline import ALL_KINDS, annotated_slots, engine_types, load_project, slice_project
from typetool.predictions import Prediction, TypePredictor, normalizer
from typetool.predsets import DEFAULT_MAX_HOLES, TAU_GRID, choose_tau, prediction_set
from typetool.slots import MODULE_SCOPE, SlotKind
from typetool.sources import DEFAULT_MAX_BYTES
from typetool.typeexpr import (
    HOLE,
    TypeNode,
    contains,
    hole_count,
    parse_type,
)

MISSING = "missing-annotation"
SUSPICIOUS = "suspicious-annotation"
DEFAULT_VERIFY_EPSILON = 0.05

SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

RULES: dict[str, dict[str, str]] = {
    MISSING: {
        "name": "MissingAnnotation",
        "short": "Missing type annotation that typetool predicts confidently",
        "full": "A parameter, return, variable or attribute has no annotation, and typetool's prediction set "
                "at the configured epsilon is not all holes and the calibrated confidence of its top type is at "
                "least min-confidence. `typetool annotate` writes it (holes as `Any`).",
        "help": "Add the predicted annotation, or run `typetool annotate` on the file. Raise `min-confidence` "
                "in [tool.typetool] to report fewer, surer slots.",
    },
    SUSPICIOUS: {
        "name": "SuspiciousAnnotation",
        "short": "Existing annotation outside typetool's prediction set at a strict epsilon",
        "full": "The existing annotation is not contained in the PAC prediction set of the model's top type at "
                "a strict epsilon (default 0.05): at most about that share of correct annotations fall outside "
                "such sets, so this one is likely wrong. Sets that are all holes are never reported.",
        "help": "Check the annotation against how the value is used; the predicted type (holes `Any`) is in "
                "the message.",
    },
}


class CheckError(ValueError):
    """A usage problem the CI check cannot get past (not a git repository, an unknown ref): exit code 2."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One reported slot. `line` and `column` are 1-based (column in characters, i.e. code points)."""

    rule: str  # MISSING or SUSPICIOUS
    file: str  # as typetool reports paths: posix, relative to the working directory
    line: int
    column: int
    slot_id: str
    kind: str  # param, return, variable, attribute
    scope: str
    name: str
    predicted: str  # the prediction set as it would be written (holes as `Any`)
    top: str  # the model's top-1 full type
    confidence: float  # calibrated probability of the top-1 type
    holes: int
    epsilon: float  # the epsilon the set was built at
    annotation: str | None = None  # the existing annotation (suspicious-annotation)
    language: str = "py"  # "py" or "ts": the types above are printed in this language

    @property
    def what(self) -> str:
        """The slot in words: `parameter 'x' of f`, `return type of f`, `attribute 'x' of C`."""
        if self.kind == SlotKind.PARAM.value:
            return f"parameter '{self.name}' of {self.scope}"
        if self.kind == SlotKind.RETURN.value:
            return f"return type of {self.scope}"
        if self.kind == SlotKind.ATTRIBUTE.value:
            return f"attribute '{self.name}' of {self.scope}"
        if self.scope == MODULE_SCOPE:
            return f"module variable '{self.name}'"
        return f"variable '{self.name}' in {self.scope}"

    @property
    def message(self) -> str:
        conf = f"confidence {self.confidence:.2f}"
        if self.holes and self.top != self.predicted:
            conf += f" for {self.top}"
        if self.rule == MISSING:
            return f"{self.what} has no annotation; typetool predicts {self.predicted} ({conf})"
        return (f"{self.what} is annotated {self.annotation}, outside typetool's prediction set "
                f"{self.predicted} at epsilon {self.epsilon:g} ({conf})")

    def to_json(self) -> dict[str, object]:
        return {"rule": self.rule, "file": self.file, "line": self.line, "column": self.column,
                "slot": self.slot_id, "kind": self.kind, "scope": self.scope, "name": self.name,
                "annotation": self.annotation, "predicted": self.predicted, "top": self.top,
                "confidence": round(self.confidence, 4), "holes": self.holes, "epsilon": self.epsilon,
                "language": self.language, "message": self.message}


# ------------------------------------------------------------------------------------------------- the rules


def language_of(file: str) -> str:
    """The key of the language of a slot's file ("py", "ts"; `typetool.languages`)."""
    return key_of(file)


def _shown(t: TypeNode, language: str = "py") -> str:
    """A (partial) type as it would be written, holes as the language's `Any` (`any` in TypeScript)."""
    return by_key(language).spell(t)


def _shown_text(type_: str, language: str) -> str:
    try:
        return _shown(parse_type(type_), language)
    except ValueError:
        return type_


def _finding(rule: str, p: Prediction, shown: str, holes: int, epsilon: float) -> Finding:
    s = p.slot
    language = language_of(s.file)
    top = _shown_text(p.candidates[0].type, language) if p.candidates else shown
    return Finding(rule, s.file, s.line, s.column + 1, s.id, s.kind.value, s.scope, s.name, shown, top,
                   p.confidence, holes, epsilon, s.annotation if rule == SUSPICIOUS else None, language)


def is_confident(p: Prediction, min_confidence: float) -> bool:
    """The documented rule: typetool would write the prediction (fully or with holes) and its calibrated
    confidence is at least `min_confidence`."""
    return p.partial is not None and p.confidence >= min_confidence


def missing_findings(predictions: Iterable[Prediction], min_confidence: float, epsilon: float) -> list[Finding]:
    out: list[Finding] = []
    for p in predictions:
        if p.slot.annotation is None and p.partial is not None and is_confident(p, min_confidence):
            shown = _shown_text(p.partial, language_of(p.slot.file))
            out.append(_finding(MISSING, p, shown, p.holes, epsilon))
    return out


def verify_tau(predictor: TypePredictor, epsilon: float) -> float | None:
    """tau of the PAC sets at `epsilon` (the predictor's delta); None when the model is uncalibrated or has
    too few calibration sites for that epsilon."""
    cal = predictor.calibration
    if cal is None:
        return None
    pac = cal["pac"]
    chosen = choose_tau(pac["first_covering"], epsilon, predictor.delta, tuple(pac.get("taus", TAU_GRID)))
    return chosen.tau if chosen is not None else None


def overlaps(a: TypeNode, b: TypeNode) -> bool:
    """Is there a full type in both partial types' sets? (Holes on either side match any subtree; union
    members are matched one to one in any order, as in `contains`.)"""
    if a.name == "?" or b.name == "?":
        return True
    if a.name != b.name or len(a.args) != len(b.args):
        return False
    if a.name == "|":
        return _match_union(list(a.args), list(b.args))
    return all(overlaps(x, y) for x, y in zip(a.args, b.args, strict=True))


def _match_union(left: list[TypeNode], pool: list[TypeNode]) -> bool:
    if not left:
        return not pool
    return any(overlaps(left[0], m) and _match_union(left[1:], pool[:i] + pool[i + 1:])
               for i, m in enumerate(pool))


def _any_as_holes(t: TypeNode, any_name: str = "Any") -> TypeNode:
    if t.name == any_name and not t.args:
        return HOLE
    return TypeNode(t.name, tuple(_any_as_holes(a, any_name) for a in t.args))


def annotation_outside(pset: TypeNode, annotation: str, language: str = "py") -> bool | None:
    """True when the existing annotation is outside the (normalized) prediction set; None when it cannot be
    judged (unparseable, a bare Final/ClassVar/TypeAlias, a TypeScript type the shared form cannot express,
    or all `Any` / `any`). `language`: how to read the annotation ("py" or "ts")."""
    lang = by_key(language)
    label = lang.normalize_label(annotation)
    if label is None:
        return None
    try:
        truth = parse_type(label)
    except ValueError:
        return None
    relaxed = _any_as_holes(truth, lang.any_name)
    if relaxed.name == "?":
        return None
    if relaxed == truth:
        return not contains(pset, truth)
    return not overlaps(pset, relaxed)


def suspicious_findings(predictions: Iterable[Prediction], pac: dict[str, Any], epsilon: float,
                        tau: float) -> list[Finding]:
    """Annotated slots whose annotation is outside the set at `tau` (`verify_tau` of `epsilon`); `pac` is the
    calibration's "pac" table (tau grid, max holes)."""
    taus = tuple(pac.get("taus", TAU_GRID))
    max_holes = int(pac.get("max_holes", DEFAULT_MAX_HOLES))
    out: list[Finding] = []
    for p in predictions:
        if p.slot.annotation is None or p.costs is None:
            continue
        language = language_of(p.slot.file)
        try:  # the set in the language's normal form, as `canonical(type, language)` makes it
            pset = normalizer(language)(prediction_set(p.costs, tau, taus, max_holes))
        except ValueError:
            continue
        if pset.name == "?":
            continue
        if annotation_outside(pset, p.slot.annotation, language):
            out.append(_finding(SUSPICIOUS, p, _shown(pset, language), hole_count(pset), epsilon))
    return out


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.file, f.line, f.column, f.rule, f.slot_id))


# ----------------------------------------------------------------------------------------- changed lines (git)

Ranges = list[tuple[int, int]]  # inclusive 1-based line ranges
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


@dataclass(frozen=True, slots=True)
class ChangedLines:
    """Lines changed since `base` (a commit), per file; keys are real absolute paths. `None` ranges: the
    whole file is new (untracked)."""

    base: str
    files: dict[str, Ranges | None]

    def contains(self, path: str | Path, line: int) -> bool:
        key = os.path.realpath(path)
        if key not in self.files:
            return False
        ranges = self.files[key]
        return ranges is None or any(a <= line <= b for a, b in ranges)

    def touches(self, path: str | Path) -> bool:
        return os.path.realpath(path) in self.files


def _git(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", "-c", "core.quotePath=false", *args], cwd=cwd, capture_output=True,
                              check=False)
    except FileNotFoundError:
        raise CheckError("--changed-only needs git, and git is not installed") from None


def _unquote(path: str) -> str:
    """A path as git prints it: C-style quoted (`"a\\tb"`, octal bytes) when it holds special characters."""
    if not (len(path) >= 2 and path.startswith('"') and path.endswith('"')):
        return path
    body = path[1:-1].encode("utf-8")
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c == 0x5C and i + 1 < len(body):  # backslash
            nxt = chr(body[i + 1])
            octal = body[i + 1:i + 4]
            if len(octal) == 3 and all(0x30 <= b <= 0x37 for b in octal):
                out.append(int(octal, 8) & 0xFF)
                i += 4
                continue
            out.append(_ESCAPES.get(nxt, ord(nxt)))
            i += 2
            continue
        out.append(c)
        i += 1
    return out.decode("utf-8", "surrogateescape")


def parse_diff(diff: str) -> dict[str, Ranges]:
    """Added/changed line ranges in the new version of each file, from `git diff --unified=0` output (with
    `b/` as the destination prefix); paths as in the diff (relative to the top of the repository)."""
    files: dict[str, Ranges] = {}
    current: str | None = None
    for line in diff.splitlines():
        if line.startswith("+++ "):
            name = line[4:].rstrip("\t")
            name = _unquote(name)
            current = name[2:] if name.startswith("b/") else None  # /dev/null: a deleted file
            if current is not None:
                files.setdefault(current, [])
            continue
        if current is None:
            continue
        m = _HUNK.match(line)
        if m:
            start, count = int(m.group(1)), int(m.group(2) if m.group(2) is not None else 1)
            if count > 0:
                files[current].append((start, start + count - 1))
    return files


def repo_root(cwd: Path | None = None) -> Path | None:
    """The top of the git work tree holding `cwd`; None outside one (or without git)."""
    try:
        top = _git(["rev-parse", "--show-toplevel"], cwd or Path.cwd())
    except CheckError:
        return None
    if top.returncode != 0:
        return None
    return Path(top.stdout.decode("utf-8", "surrogateescape").strip())


def changed_lines(base: str | None, cwd: Path | None = None) -> ChangedLines:
    """Lines added or changed in the working tree since `base`, as a pull request's diff sees them: against
    the merge base of `base` and HEAD (when there is one). Default base: the merge base of HEAD with
    origin/HEAD, else HEAD. Untracked (not ignored) files count as changed in full. Raises `CheckError`
    outside a git repository or for an unknown ref."""
    cwd = cwd or Path.cwd()
    top = _git(["rev-parse", "--show-toplevel"], cwd)
    if top.returncode != 0:
        raise CheckError(f"--changed-only: {cwd} is not inside a git repository")
    root = Path(top.stdout.decode("utf-8", "surrogateescape").strip())
    if base is None:
        remote = _git(["rev-parse", "--verify", "--quiet", "origin/HEAD^{commit}"], cwd)
        merge = _git(["merge-base", "HEAD", "origin/HEAD"], cwd) if remote.returncode == 0 else None
        if merge is not None and merge.returncode == 0:
            commit = merge.stdout.decode().strip()
        else:
            head = _git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], cwd)
            if head.returncode != 0:
                raise CheckError("--changed-only: this repository has no commits yet; pass --base REF")
            commit = head.stdout.decode().strip()
        shown = commit
    else:
        if base.startswith("-"):
            raise CheckError(f"--base: not a git ref: {base!r}")
        resolved = _git(["rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"], cwd)
        if resolved.returncode != 0:
            raise CheckError(f"--base: unknown git ref {base!r} (in a shallow CI checkout, fetch it first, "
                             f"e.g. actions/checkout with fetch-depth: 0)")
        commit = resolved.stdout.decode().strip()
        merge = _git(["merge-base", commit, "HEAD"], cwd)
        if merge.returncode == 0:
            commit = merge.stdout.decode().strip()
        shown = base
    diff = _git(["diff", "--unified=0", "--no-color", "--no-ext-diff", "--no-textconv", "--no-relative",
                 "--src-prefix=a/", "--dst-prefix=b/", "-M", commit, "--"], root)
    if diff.returncode != 0:
        raise CheckError(f"--changed-only: git diff failed: {diff.stderr.decode(errors='replace').strip()}")
    files: dict[str, Ranges | None] = {}
    for rel, ranges in parse_diff(diff.stdout.decode("utf-8", "surrogateescape")).items():
        if ranges:
            files[os.path.realpath(root / rel)] = ranges
    untracked = _git(["ls-files", "--others", "--exclude-standard", "--full-name", "-z"], root)
    if untracked.returncode == 0:
        for rel in untracked.stdout.decode("utf-8", "surrogateescape").split("\0"):
            if rel:
                files[os.path.realpath(root / rel)] = None
    return ChangedLines(shown, files)


# ------------------------------------------------------------------------------------------------ the check


@dataclass
class CheckOutcome:
    """What `run_check` found, what the pipeline reported on the way, and notes for the user."""

    findings: list[Finding]
    diagnostics: list[Diagnostic]
    slots_checked: int
    notes: list[str] = field(default_factory=list)


def run_check(paths: Sequence[Path], load_predictor: Callable[[], TypePredictor],
              kinds: frozenset[SlotKind] = ALL_KINDS, min_confidence: float = 0.5, verify: bool = False,
              verify_epsilon: float = DEFAULT_VERIFY_EPSILON, changed: ChangedLines | None = None,
              batch_size: int = 64, max_bytes: int = DEFAULT_MAX_BYTES,
              progress: Callable[[int], None] | None = None) -> CheckOutcome:
    """Load and slice the project, keep the slots to check (unannotated ones; with `verify` also annotated
    ones; with `changed` only those on changed lines), predict them and apply the rules. The predictor is
    loaded only when there is something to predict."""
    project = load_project(paths, max_bytes=max_bytes)
    files: set[str] | None = None
    if changed is not None:
        where = {rel: src.path for rel, src in project.source_files().items()}  # Python and TypeScript
        files = {rel for rel, path in where.items() if changed.touches(path)}
    touched = slice_project(project, kinds, only_unannotated=not verify, files=files)
    slices = touched
    if changed is not None:
        slices = [s for s in slices if s.slot.file in where and changed.contains(where[s.slot.file], s.slot.line)]
    outcome = CheckOutcome([], project.diagnostics, len(slices))
    if not slices:
        return outcome
    predictor = load_predictor()
    if verify and predictor.calibration is None:  # no prediction sets to verify against: skip those slots
        slices = [s for s in slices if s.slot.annotation is None]
        touched = [s for s in touched if s.slot.annotation is None]
    # the annotated parameters and returns vote for their namesakes (not under --verify, where a slot's own
    # annotation would vote for itself)
    notes = annotated_slots(project, files) if predictor.consistency is not None and not verify else []
    engine = engine_types(project, predictor)  # the checker engine's types, as annotate predicts with them
    if changed is not None and predictor.consistency is not None and len(touched) > len(slices):
        # the run is the touched files, whole: their slots' namesakes vote as in a check of those files, so a
        # slot on a changed line gets the type a full check of them gives it
        wanted = {id(s) for s in slices}
        every = predictor.predict(touched, batch_size=batch_size, progress=progress, annotated=notes, engine=engine)
        preds = [p for s, p in zip(touched, every) if id(s) in wanted]
    else:
        preds = predictor.predict(slices, batch_size=batch_size, progress=progress, annotated=notes, engine=engine)
    findings = missing_findings(preds, min_confidence, predictor.epsilon)
    if verify:
        tau = verify_tau(predictor, verify_epsilon)
        if predictor.calibration is None:
            outcome.notes.append("--verify skipped: the model has no calibration.json, so it has no prediction "
                                 "sets")
        elif tau is None:
            outcome.notes.append(f"--verify skipped: the model's calibration has too few sites for epsilon "
                                 f"{verify_epsilon:g} at delta {predictor.delta:g}; raise --verify-epsilon")
        else:
            assert predictor.calibration is not None
            findings += suspicious_findings(preds, predictor.calibration["pac"], verify_epsilon, tau)
    outcome.findings = sort_findings(findings)
    return outcome


# --------------------------------------------------------------------------------------------------- outputs


def summary(findings: Sequence[Finding]) -> dict[str, int]:
    return {"findings": len(findings), MISSING: sum(1 for f in findings if f.rule == MISSING),
            SUSPICIOUS: sum(1 for f in findings if f.rule == SUSPICIOUS),
            "files": len({f.file for f in findings})}


def format_text(findings: Sequence[Finding]) -> str:
    """One line per finding, `path:line:col: rule: message` (as compilers and ruff print them)."""
    return "".join(f"{f.file}:{f.line}:{f.column}: {f.rule}: {f.message}\n" for f in findings)


def format_json(findings: Sequence[Finding], diagnostics: Sequence[Diagnostic],
                settings: dict[str, object]) -> str:
    payload = {"version": 1, "tool": "typetool", "tool_version": __version__, "settings": settings,
               "summary": summary(findings), "findings": [f.to_json() for f in findings],
               "diagnostics": [{"path": d.path, "line": d.line, "column": d.column, "severity": d.severity.value,
                                "code": d.code, "message": d.message} for d in diagnostics]}
    return json.dumps(payload, indent=1, ensure_ascii=False) + "\n"


def _gh_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_prop(s: str) -> str:
    return _gh_data(s).replace(":", "%3A").replace(",", "%2C")


def format_github(findings: Sequence[Finding], root: Path | None = None) -> str:
    """GitHub Actions workflow commands: each finding becomes an annotation on the pull request's diff.
    Paths are made relative to `root` (the repository) when the file is under it."""
    lines = []
    for f in findings:
        path = f.file
        if root is not None:
            try:
                path = Path(os.path.abspath(f.file)).relative_to(os.path.abspath(root)).as_posix()
            except ValueError:
                pass
        title = f"typetool {f.rule}"
        lines.append(f"::warning file={_gh_prop(path)},line={f.line},col={f.column},"
                     f"title={_gh_prop(title)}::{_gh_data(f.message)}\n")
    return "".join(lines)


def _uri(path: str, root: Path) -> tuple[str, bool]:
    """A SARIF artifact URI for a reported path: relative to `root` (with uriBaseId %SRCROOT%) when the file
    is under it, else an absolute file:// URI."""
    absolute = Path(os.path.abspath(path))
    try:
        rel = absolute.relative_to(root)
    except ValueError:
        return absolute.as_uri(), False
    return quote(rel.as_posix(), safe="/"), True


def _dir_uri(root: Path) -> str:
    uri = root.as_uri()
    return uri if uri.endswith("/") else uri + "/"


def _fingerprint(f: Finding) -> str:
    return hashlib.sha256(f"{f.rule}\0{f.slot_id}".encode()).hexdigest()[:32]


_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def sarif_log(findings: Sequence[Finding], diagnostics: Sequence[Diagnostic] = (), root: Path | None = None,
              settings: dict[str, object] | None = None) -> dict[str, Any]:
    """A SARIF 2.1.0 log of one run: rule metadata for both rules, one result per finding (1-based line and
    column in code points, the predicted type and confidence in message and properties, a fingerprint from
    the slot id so results survive edits elsewhere), and typetool's diagnostics as tool notifications."""
    root = Path(os.path.abspath(root or Path.cwd()))
    rule_ids = [MISSING, SUSPICIOUS]
    rules = []
    for rid in rule_ids:
        r = RULES[rid]
        rules.append({
            "id": rid, "name": r["name"],
            "shortDescription": {"text": r["short"]}, "fullDescription": {"text": r["full"]},
            "help": {"text": r["help"], "markdown": r["help"]},
            "defaultConfiguration": {"level": "warning"},
            "properties": {"tags": ["typing", "maintainability"], "precision": "medium",
                           "problem.severity": "warning"},
        })
    results = []
    for f in findings:
        uri, relative = _uri(f.file, root)
        artifact: dict[str, Any] = {"uri": uri}
        if relative:
            artifact["uriBaseId"] = "%SRCROOT%"
        props: dict[str, Any] = {"predictedType": f.predicted, "topType": f.top,
                                 "confidence": round(f.confidence, 4), "holes": f.holes, "epsilon": f.epsilon,
                                 "slotId": f.slot_id, "slotKind": f.kind, "language": f.language}
        if f.annotation is not None:
            props["annotation"] = f.annotation
        results.append({
            "ruleId": f.rule, "ruleIndex": rule_ids.index(f.rule), "level": "warning",
            "message": {"text": f.message},
            "locations": [{"physicalLocation": {"artifactLocation": artifact,
                                                "region": {"startLine": f.line, "startColumn": f.column}}}],
            "partialFingerprints": {"typetoolSlot/v1": _fingerprint(f)},
            "properties": props,
        })
    notes = []
    for d in diagnostics:
        note: dict[str, Any] = {"level": _SARIF_LEVEL[d.severity], "message": {"text": d.message},
                                "descriptor": {"id": d.code}}
        uri, relative = _uri(d.path, root)
        region = {"startLine": d.line} if d.line is not None else None
        if region is not None and d.column is not None:
            region["startColumn"] = d.column + 1
        loc: dict[str, Any] = {"artifactLocation": {"uri": uri, **({"uriBaseId": "%SRCROOT%"} if relative else {})}}
        if region is not None:
            loc["region"] = region
        note["locations"] = [{"physicalLocation": loc}]
        notes.append(note)
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "typetool", "version": __version__, "semanticVersion": __version__,
                            "rules": rules}},
        "originalUriBaseIds": {"%SRCROOT%": {"uri": _dir_uri(root)}},
        "columnKind": "unicodeCodePoints",
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notes}],
        "results": results,
    }
    if settings:
        run["properties"] = {"settings": settings}
    return {"$schema": SARIF_SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def format_sarif(findings: Sequence[Finding], diagnostics: Sequence[Diagnostic] = (), root: Path | None = None,
                 settings: dict[str, object] | None = None) -> str:
    return json.dumps(sarif_log(findings, diagnostics, root, settings), indent=1, ensure_ascii=False) + "\n"
