"""`typetool corpus ...`: build the training / calibration / dev-eval corpus (a thin front end to `corpus`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

corpus_app = typer.Typer(help="Build the training, calibration and dev-eval corpus from pinned packages.",
                         no_args_is_help=True)


@corpus_app.command("build")
def build_command(
    out: Annotated[Path, typer.Option("--out", help="Where to write train/calib/dev .jsonl and stats.txt.")]
    = Path(".cache/corpus"),
    cache: Annotated[Path, typer.Option("--cache", help="Download and unpack cache.")] = Path(".cache/packages"),
    packages: Annotated[Path | None, typer.Option("--packages", help="Pinned package list (default: the "
                                                   "one shipped with typetool).")] = None,
    workers: Annotated[int, typer.Option(help="Processes (one package each).")] = 2,
    language: Annotated[str, typer.Option("--language", help="python (pinned wheels, one pip call) or "
                                          "typescript (pinned npm tarballs, one npm pack call).")] = "python",
    code_imports_only: Annotated[bool, typer.Option(
        "--code-imports-only", help="Python: leave out of the scope names the imports used only in annotations "
        "(as if the code had never been annotated); the stricter strip-and-recover. Python only.")] = False,
) -> None:
    """Download the pinned packages (one call, cached) and turn every annotated slot into a record."""
    from typetool import corpus
    from typetool.python.corpus import build

    if language in ("typescript", "ts"):
        from typetool.ts.corpus import build_ts

        ts_stats = build_ts(packages, None if cache == Path(".cache/packages") else cache, out, workers=workers)
        typer.echo(ts_stats.table())
        typer.echo(corpus.summary(out))
        return
    if language not in ("python", "py"):
        raise typer.BadParameter(f"unknown language {language!r}: python or typescript", param_hint="--language")
    package_list = packages if packages is not None else corpus.default_package_list()
    stats = build(package_list, cache, out, workers=workers, code_imports_only=code_imports_only)
    typer.echo(stats.table())
    typer.echo(corpus.summary(out))
    if stats.dropped_dupes:
        typer.echo("dropped duplicates: " + ", ".join(f"{k} {v}" for k, v in stats.dropped_dupes.most_common()))


@corpus_app.command("stats")
def stats_command(
    out: Annotated[Path, typer.Argument(help="A corpus directory written by `corpus build`.")]
    = Path(".cache/corpus"),
) -> None:
    """Print statistics of a built corpus: slots per split and kind, distinct types, user-defined share."""
    from typetool import corpus

    typer.echo(corpus.summary(out))
