"""Every user-facing message text in one place (as mypy's message_registry does).

Codes are stable identifiers used in JSON output and tests; texts may be improved freely.
"""

from __future__ import annotations

# Reading files
NOT_FOUND = ("not-found", "no such file or directory")
UNREADABLE = ("unreadable", "cannot read file: {reason}")
NOT_A_FILE = ("not-a-file", "not a regular file, skipped")
SYMLINK_LOOP = ("symlink-loop", "symbolic link loop, skipped")
TOO_LARGE = ("too-large", ("file is {size:.1f} MB, above the limit of {limit:.1f} MB; skipped "
             "(raise --max-file-size, or max-file-size in [tool.typetool], to include it)"))
BINARY = ("binary", "looks like a binary file (NUL bytes), skipped")
NUL_BYTES = ("nul-bytes", "source contains NUL bytes, which Python rejects; skipped")
BAD_ENCODING = ("bad-encoding", "cannot decode as {encoding}: {reason}; skipped")
UNKNOWN_ENCODING = ("unknown-encoding", "unknown encoding declared: {reason}; skipped")
EMPTY = ("empty", "empty file: nothing to analyse")
# the gate (pipeline._gate): a planned annotation the checker engine rejects is not written
GATE_REFUSED = ("gate-refused", "not written: `{type}` for {slot}: with it, {engine} reports {error}")
GATE_SOFTENED = ("gate-softened", "written as `{hollow}`, not `{type}`, for {slot}: with `{type}`, {engine} reports "
                 "{error}")
# a file named or found that could not be read at all: exit 1 from every command that reads files (a syntax
# error is not one of them: the intact part of the file is analysed, and `annotate` reports it as not written)
READ_FAILURES = frozenset(e[0] for e in (NOT_FOUND, UNREADABLE, SYMLINK_LOOP, BAD_ENCODING, UNKNOWN_ENCODING))

# Parsing
SYNTAX_ERROR = ("syntax-error", "syntax error: {detail}; the rest of the file is still analysed")
MISSING_TOKEN = ("syntax-error", "syntax error: missing {detail}; the rest of the file is still analysed")
TOO_DEEP = ("too-deep", "code nested too deeply to analyse (thousands of levels); skipped")
SKIPPED_LINES = ("syntax-skipped", ("lines {first}-{last} hold a syntax error and are skipped; the rest of the "
                 "file is analysed"))
NO_FILES = ("no-files", "no Python or TypeScript files found under the given paths")
JAVASCRIPT_FILE = ("javascript-file", "JavaScript file: typetool annotates Python and TypeScript only; left alone")
DECLARATION_FILE = ("declaration-file", "TypeScript declaration file (.d.ts): never analysed or written")


# Writing (typetool.writeback)

STALE = ("stale-predictions", ("file changed since the predictions were made (sha256 {actual:.12}..., predictions "
         "were made for {expected:.12}...); not written: run `typetool predict` again"))
NO_HASH = ("no-hash", "the predictions give no sha256 for this file; not written")
SYNTAX = ("syntax-error", ("cannot parse: {reason}; not written (every write is proven on the whole file's "
          "syntax tree; `check` and `predict` still report the intact functions)"))
NOT_EXACT = ("not-round-trippable", "libcst cannot reproduce this file byte for byte ({reason}); not written")
READ_ONLY = ("read-only", "file is read-only; not written")
CHANGED_ON_DISK = ("changed-on-disk", "file changed on disk while typetool was running; not written")
WRITE_FAILED = ("write-failed", "cannot write: {reason}; the file is untouched")
UNENCODABLE = ("unencodable", "the result cannot be encoded as {encoding}: {reason}; not written")
UNSAFE = ("unsafe-rewrite", ("INTERNAL ERROR: refusing to write a rewrite that is not equivalent to the input "
          "({detail}); the file is untouched. Please report this with the file"))
STUB_SKIPPED = ("stub-skipped", "stub files (.pyi) are not stripped")
UNKNOWN_SLOT = ("unknown-slot", "no slot {slot_id} in this file; prediction ignored")
BAD_SLOT_ID = ("bad-slot-id", "prediction id {slot_id!r} does not name a slot of {file}; prediction ignored")
INVALID_TYPE = ("invalid-type", "{slot_id}: invalid type {type!r}: {reason}; not written")
CONFLICT = ("conflicting-predictions", "{slot_id}: several different predictions; none written")
UNKNOWN_NAME = ("unknown-name", ("{slot_id}: type {type!r} uses {name!r}, which is not defined in the file, not a "
                "builtin or typing name and not a class of the project; not written"))
AMBIGUOUS_NAME = ("ambiguous-name", ("{slot_id}: type {type!r} uses {name!r}, defined in several project modules "
                  "({modules}); not written"))
SHADOWED = ("shadowed-name", ("{slot_id}: type {type!r} uses {name!r}, which a local definition shadows here; "
            "not written"))
CANNOT_ENCODE_TYPE = ("unencodable-type", "{slot_id}: type {type!r} cannot be encoded as {encoding}; not written")
ALL_HOLE = ("all-hole", "all-hole type: not written")
TOO_DEEP_TO_WRITE = ("too-deep", "code nested too deeply to rewrite safely ({what}); not written")
OUT_OF_MEMORY = ("out-of-memory", "ran out of memory while rewriting this file; not written")
INTERNAL = ("internal-error", ("INTERNAL ERROR while rewriting this file ({detail}); the file is untouched. Please "
            "report this with the file"))

# Writing TypeScript (typetool.ts.writeback)
TS_DECLARATION = ("declaration-file", ("TypeScript declaration files (.d.ts) are never written: their annotations "
                  "are the package's API; not written"))
TS_DECLARATION_SKIPPED = ("declaration-skipped", "TypeScript declaration files (.d.ts) are not stripped")
JS_FILE = ("javascript-file", ("not a TypeScript source (.ts, .tsx, .mts, .cts): JavaScript files cannot hold "
           "type annotations; not written"))
TS_ANNOTATED = ("already-annotated", ("already annotated as `{annotation}`: existing TypeScript annotations are "
                "never changed"))
TS_UNPRINTABLE = ("unprintable-type", ("{slot_id}: type {type!r} cannot be written as TypeScript ({printed!r}: "
                  "{reason}); not written"))
TS_PYTHON_SPELLED = ("python-type-in-typescript", ("{slot_id}: type {type!r} uses {names}: Python spellings that "
                     "this TypeScript file does not declare; not written (TypeScript spells them number, "
                     "string, boolean, T[], Record<K, V>, T | null, any)"))


def msg(entry: tuple[str, str], **kwargs: object) -> tuple[str, str]:
    """Return (code, formatted text) for a registry entry."""
    code, text = entry
    return code, text.format(**kwargs)
