"""Every user-facing message text in one place (as mypy's message_registry does).

Codes are stable identifiers used in JSON output and tests; texts may be improved freely.
"""

from __future__ import annotations

# Reading files
NOT_FOUND = ("not-found", "no such file or directory")
UNREADABLE = ("unreadable", "cannot read file: {reason}")
NOT_A_FILE = ("not-a-file", "not a regular file, skipped")
SYMLINK_LOOP = ("symlink-loop", "symbolic link loop, skipped")
TOO_LARGE = ("too-large", "file is {size:.1f} MB, above the limit of {limit:.1f} MB; skipped "
             "(raise --max-file-size, or max-file-size in [tool.typetool], to include it)")
BINARY = ("binary", "looks like a binary file (NUL bytes), skipped")
NUL_BYTES = ("nul-bytes", "source contains NUL bytes, which Python rejects; skipped")
BAD_ENCODING = ("bad-encoding", "cannot decode as {encoding}: {reason}; skipped")
UNKNOWN_ENCODING = ("unknown-encoding", "unknown encoding declared: {reason}; skipped")
EMPTY = ("empty", "empty file: nothing to analyse")

# Parsing
SYNTAX_ERROR = ("syntax-error", "syntax error: {detail}; the rest of the file is still analysed")
MISSING_TOKEN = ("syntax-error", "syntax error: missing {detail}; the rest of the file is still analysed")
TOO_DEEP = ("too-deep", "code nested too deeply to analyse (thousands of levels); skipped")
SKIPPED_LINES = ("syntax-skipped", "lines {first}-{last} hold a syntax error and are skipped; the rest of the "
                 "file is analysed")
NO_FILES = ("no-files", "no Python files found under the given paths")


def msg(entry: tuple[str, str], **kwargs: object) -> tuple[str, str]:
    """Return (code, formatted text) for a registry entry."""
    code, text = entry
    return code, text.format(**kwargs)
