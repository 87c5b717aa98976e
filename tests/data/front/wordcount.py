#!/usr/bin/env python3
"""Count words in text files: a small command-line script."""

import argparse
import sys
from collections import Counter
from pathlib import Path

DEFAULT_TOP = 10


def read_words(path, lower=True):
    """Yield the words of one file."""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            for word in line.split():
                word = word.strip(".,;:!?\"'()")
                if word:
                    yield word.lower() if lower else word


def count(paths, lower=True):
    counts = Counter()
    missing = []
    for path in paths:
        if not Path(path).exists():
            missing.append(path)
            continue
        counts.update(read_words(path, lower=lower))
    return counts, missing


def format_table(counts, top=DEFAULT_TOP):
    width = max((len(w) for w, _ in counts.most_common(top)), default=0)
    lines = [f"{word:<{width}}  {n}" for word, n in counts.most_common(top)]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--top", type=int, default=DEFAULT_TOP)
    parser.add_argument("--keep-case", action="store_true")
    args = parser.parse_args(argv)
    counts, missing = count(args.paths, lower=not args.keep_case)
    for path in missing:
        print(f"{path}: no such file", file=sys.stderr)
    print(format_table(counts, args.top))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
