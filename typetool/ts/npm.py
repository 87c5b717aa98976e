"""TypeScript corpus raw material: pinned npm packages, downloaded once, unpacked to their `.ts` sources.

Does: reads the pinned package list (`corpus_typescript.txt`, lines `<train|calib|dev> name@version [cap=N]`,
a package in exactly one split), downloads the missing tarballs with ONE `npm pack` call into
`<cache>/tarballs` (a second call with everything present runs no npm), and unpacks each tarball's TypeScript
sources (`.ts`, `.tsx`, `.mts`, `.cts`) into `<cache>/src/<key>` with a `.complete` marker. Unpacking skips
declaration files (`.d.ts`, `.d.mts`, `.d.cts`: signatures without bodies), anything under `node_modules/` or a
vendored directory, tests (`test/`, `tests/`, `__tests__/`, `__mocks__/`, `*.test.ts`, `*.spec.ts`,
`*.test-d.ts`, `*.bench.ts`), files over 1 MB, links and any member whose path is absolute or leaves the
destination. `python -m typetool.ts.npm [--cache DIR] [--list FILE]` fetches everything and prints a
per-package table (source files, lines, declaration files, skipped tests).
Does not: parse, extract slots, deduplicate or apply caps (the corpus builder does, from `cap=`); run package
scripts (`--ignore-scripts`); install dependencies; read `.js` files.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath

SPLITS = ("train", "calib", "dev")
TS_SUFFIXES = (".ts", ".tsx", ".mts", ".cts")
DECLARATION = re.compile(r"\.d\.[cm]?ts$|\.d\.[^/]*\.ts$")  # also `foo.d.css.ts`-style declaration files
TEST_FILE = re.compile(r"\.(test|spec|test-d|spec-d|bench)\.[cm]?tsx?$")
TEST_DIRS = frozenset({"test", "tests", "__tests__", "__mocks__", "__test__"})
VENDORED_DIRS = frozenset({"_vendor", "vendor", "vendored", "_vendored", "third_party", "node_modules"})
MAX_FILE_BYTES = 1_000_000
MARKER = ".complete"
NAME = re.compile(r"^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$")
VERSION = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


def repo_root() -> Path:
    """The checkout this module lives in (the default cache is `<repo>/.cache/npm`)."""
    return Path(__file__).resolve().parents[2]


def default_cache() -> Path:
    return repo_root() / ".cache" / "npm"


def default_package_list() -> Path:
    return Path(str(resources.files("typetool"))) / "corpus_typescript.txt"


@dataclass(frozen=True, slots=True)
class NpmPackage:
    split: str
    name: str  # "zod" or "@scope/name"
    version: str  # exact
    cap: int | None = None

    @property
    def spec(self) -> str:
        """What `npm pack` is given: name@version."""
        return f"{self.name}@{self.version}"

    @property
    def key(self) -> str:
        """File-system-safe id, npm's own tarball stem: `@trpc/client@11.25.2` -> `trpc-client-11.25.2`."""
        return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}"

    @property
    def tarball_name(self) -> str:
        return f"{self.key}.tgz"


def parse_spec(spec: str, split: str = "train", cap: int | None = None) -> NpmPackage:
    """`name@version` (exact version, scoped names allowed) -> NpmPackage; ValueError otherwise."""
    name, at, version = spec.rpartition("@")
    if not at or not NAME.match(name) or not VERSION.match(version):
        raise ValueError(f"expected name@exact-version, got {spec!r}")
    return NpmPackage(split, name, version, cap)


def read_package_list(path: Path) -> list[NpmPackage]:
    """The pinned list; every package in exactly one split (by name), exact versions only."""
    out: list[NpmPackage] = []
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        try:
            if parts[0] not in SPLITS or len(parts) < 2:
                raise ValueError("bad split")
            cap = None
            for opt in parts[2:]:
                if not opt.startswith("cap="):
                    raise ValueError(f"unknown option {opt!r}")
                cap = int(opt[4:])
                if cap <= 0:
                    raise ValueError("cap must be positive")
            out.append(parse_spec(parts[1], parts[0], cap))
        except ValueError as e:
            raise ValueError(f"{path}:{lineno}: expected '<train|calib|dev> name@version [cap=N]' ({e})") from None
    dupes = sorted(n for n, c in Counter(p.name for p in out).items() if c > 1)
    if dupes:
        raise ValueError(f"{path}: packages listed twice (a package must be in exactly one split): {dupes}")
    return out


def _as_packages(packages: Sequence[NpmPackage | str]) -> list[NpmPackage]:
    out = [p if isinstance(p, NpmPackage) else parse_spec(p) for p in packages]
    dupes = sorted(n for n, c in Counter(p.name for p in out).items() if c > 1)
    if dupes:
        raise ValueError(f"packages given twice: {dupes}")
    return out


def download_npm(packages: Sequence[NpmPackage | str], cache: Path) -> dict[str, Path]:
    """Tarball per package name, downloading the missing ones with a single `npm pack` call.

    Tarballs land in `<cache>/tarballs/<key>.tgz`; npm writes into a scratch folder first and each file is
    renamed into place, so an interrupted download never looks cached. Raises RuntimeError when npm is
    missing, fails, or does not produce a tarball for every package."""
    pkgs = _as_packages(packages)
    tarballs = cache / "tarballs"
    tarballs.mkdir(parents=True, exist_ok=True)
    missing = [p for p in pkgs if not (tarballs / p.tarball_name).is_file()]
    if missing:
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm not found on PATH: install Node.js (npm) to download the TypeScript corpus")
        with tempfile.TemporaryDirectory(prefix=".partial-", dir=tarballs) as scratch:
            cmd = [npm, "pack", "--json", "--ignore-scripts", "--no-audit", "--no-fund",
                   "--pack-destination", scratch, *(p.spec for p in missing)]
            done = subprocess.run(cmd, check=False, cwd=scratch, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"`npm pack` failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
            filenames = _packed_filenames(done.stdout)
            for p in missing:
                produced = Path(scratch) / filenames.get(p.spec, p.tarball_name)
                if produced.is_file():
                    os.replace(produced, tarballs / p.tarball_name)
    absent = [p.spec for p in pkgs if not (tarballs / p.tarball_name).is_file()]
    if absent:
        raise RuntimeError(f"no tarball downloaded for: {', '.join(absent)}")
    return {p.name: tarballs / p.tarball_name for p in pkgs}


def _packed_filenames(stdout: str) -> dict[str, str]:
    """name@version -> file name, from `npm pack --json` (empty when npm printed something else)."""
    try:
        entries = json.loads(stdout)
    except json.JSONDecodeError:
        return {}
    if not isinstance(entries, list):
        return {}
    return {f"{e['name']}@{e['version']}": str(e["filename"]) for e in entries
            if isinstance(e, dict) and {"name", "version", "filename"} <= e.keys()}


def classify(member_path: str) -> str:
    """Why a tarball path (its `package/` prefix already stripped) is kept or skipped: "ts" (kept), "dts",
    "test", "vendored" (incl. node_modules) or "other" (not TypeScript)."""
    parts = PurePosixPath(member_path).parts
    name = parts[-1] if parts else ""
    if not name.endswith(TS_SUFFIXES):
        return "other"
    if DECLARATION.search(name):
        return "dts"
    if any(d in VENDORED_DIRS for d in parts[:-1]):
        return "vendored"
    if any(d in TEST_DIRS for d in parts[:-1]) or TEST_FILE.search(name):
        return "test"
    return "ts"


def _safe_relative(name: str) -> PurePosixPath | None:
    """The member path without its top-level folder (`package/`), or None if it is absolute or escapes."""
    if "\\" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return None
    parts = PurePosixPath(name).parts
    if not parts or ".." in parts:
        return None
    rel = [p for p in parts[1:] if p != "."]
    return PurePosixPath(*rel) if rel else None


def unpack_ts(tarball: Path, dest: Path) -> Path:
    """Extract the tarball's TypeScript sources once (see the module docstring for what is skipped); returns
    `dest`, the source root. `dest` belongs to the cache: a leftover without the `.complete` marker is replaced.
    The marker holds JSON counts: files, lines, dts, test, vendored, too_big, refused."""
    if (dest / MARKER).is_file():
        return dest
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    counts: Counter[str] = Counter()
    root = partial.resolve()
    with tarfile.open(tarball, "r:*") as tf:
        for member in tf:
            rel = _safe_relative(member.name)
            kind = classify(str(rel)) if rel is not None else classify(member.name)
            if kind != "ts":
                if kind != "other":
                    counts[kind] += 1
                continue
            if rel is None:
                counts["refused"] += 1
                continue
            try:  # the stdlib's own check too: no links, devices, absolute paths or escapes
                member = tarfile.data_filter(member, str(root))
            except tarfile.FilterError:
                counts["refused"] += 1
                continue
            if not member.isfile():
                counts["refused"] += 1
                continue
            if member.size > MAX_FILE_BYTES:
                counts["too_big"] += 1
                continue
            target = (root / rel).resolve()
            if not target.is_relative_to(root):
                counts["refused"] += 1
                continue
            src = tf.extractfile(member)
            if src is None:
                counts["refused"] += 1
                continue
            data = src.read()
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            counts["files"] += 1
            counts["lines"] += data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    stats = {k: counts.get(k, 0) for k in ("files", "lines", "dts", "test", "vendored", "too_big", "refused")}
    (partial / MARKER).write_text(json.dumps(stats), encoding="utf-8")
    if dest.exists():
        shutil.rmtree(dest)
    os.replace(partial, dest)
    return dest


def unpack_stats(source_root: Path) -> dict[str, int]:
    """The counts `unpack_ts` stored in the marker (recounted from the files if the marker has none)."""
    try:
        stats = json.loads((source_root / MARKER).read_text(encoding="utf-8"))
        if isinstance(stats, dict) and "files" in stats:
            return {str(k): int(v) for k, v in stats.items()}
    except (OSError, ValueError):
        pass
    files = [f for f in source_root.rglob("*") if f.is_file() and f.name.endswith(TS_SUFFIXES)]
    lines = sum(len(f.read_bytes().splitlines()) for f in files)
    return {"files": len(files), "lines": lines}


def fetch_typescript_corpus(list_path: Path | None = None, cache: Path | None = None) -> dict[str, Path]:
    """Package name -> source root (`<cache>/src/<key>`) for every package of the list, downloading and
    unpacking what is not cached yet."""
    list_path = list_path or default_package_list()
    cache = cache or default_cache()
    packages = read_package_list(list_path)
    tarballs = download_npm(packages, cache)
    return {p.name: unpack_ts(tarballs[p.name], cache / "src" / p.key) for p in packages}


def table(packages: Sequence[NpmPackage], roots: dict[str, Path]) -> str:
    """Per package: split, spec, cap, kept source files and lines, skipped declaration and test files."""
    head = f"{'split':5} {'package':32} {'cap':>6} {'files':>6} {'lines':>8} {'d.ts':>6} {'tests':>6}"
    rows = [head, "-" * len(head)]
    totals: Counter[str] = Counter()
    for p in packages:
        s = unpack_stats(roots[p.name])
        totals.update({f"{p.split}:{k}": v for k, v in s.items() if k in ("files", "lines")})
        note = "  <- ships no .ts sources" if s.get("files", 0) == 0 else ""
        rows.append(f"{p.split:5} {p.spec:32} {p.cap or '':>6} {s.get('files', 0):6d} {s.get('lines', 0):8d} "
                    f"{s.get('dts', 0):6d} {s.get('test', 0):6d}{note}")
    rows.append("-" * len(head))
    for split in SPLITS:
        rows.append(f"{split:5} {'(total)':32} {'':>6} {totals[f'{split}:files']:6d} {totals[f'{split}:lines']:8d}")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m typetool.ts.npm", description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=default_cache(), help="cache folder (default: %(default)s)")
    parser.add_argument("--list", type=Path, default=default_package_list(), help="pinned package list")
    args = parser.parse_args(argv)
    try:
        packages = read_package_list(args.list)
        roots = fetch_typescript_corpus(args.list, args.cache)
    except (ValueError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(table(packages, roots))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
