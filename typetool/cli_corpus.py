"""`typetool corpus ...`: build the training / calibration / dev-eval corpus (a thin front end to `corpus`)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from typetool.languages import Language

corpus_app = typer.Typer(help="Build the training, calibration and dev-eval corpus from pinned packages.",
                         no_args_is_help=True)


def _language(name: str) -> Language:
    from typetool.languages import languages

    chosen = next((lang for lang in languages() if name in (lang.key, lang.corpus_name)), None)
    if chosen is None:
        names = " or ".join(lang.corpus_name for lang in languages())
        raise typer.BadParameter(f"unknown language {name!r}: {names}", param_hint="--language")
    return chosen


@corpus_app.command("build")
def build_command(
    out: Annotated[Path, typer.Option("--out", help="Where to write train/calib/dev .jsonl and stats.txt.")]
    = Path(".cache/corpus"),
    cache: Annotated[Path | None, typer.Option("--cache", help="Download and unpack cache (default: the "
                                                "language's own, .cache/packages or .cache/npm).")] = None,
    packages: Annotated[Path | None, typer.Option("--packages", help="Pinned package list (default: the "
                                                   "one shipped with typetool).")] = None,
    workers: Annotated[int, typer.Option(help="Processes (one package each).")] = 2,
    language: Annotated[str, typer.Option("--language", help="python (pinned wheels, one pip call) or "
                                          "typescript (pinned npm tarballs, one npm pack call).")] = "python",
    strict: Annotated[bool, typer.Option(
        "--strict/--lenient", help="The protocol. Strict (the default): slices look like those of code that was "
        "never annotated, so the imports that only annotations used leave the names in scope (Python). "
        "Lenient: every import stays.")] = True,
) -> None:
    """Download the pinned packages (one call, cached) and turn every annotated slot into a record."""
    from typetool import corpus

    typer.echo(_language(language).build_corpus(packages, cache, out, workers, strict))
    typer.echo(corpus.summary(out))


@corpus_app.command("measure")
def measure_command(
    names: Annotated[list[str], typer.Argument(help="Candidate package names (newest release of each).")],
    cache: Annotated[Path | None, typer.Option("--cache", help="Download and unpack cache (default: "
                                                ".cache/candidates).")] = None,
    workers: Annotated[int, typer.Option(help="Processes (one package each).")] = 2,
    language: Annotated[str, typer.Option("--language", help="python or typescript.")] = "python",
    min_sites: Annotated[int | None, typer.Option(
        "--min-annotated-sites", help="The fewest annotated parameter and return sites a package needs (default: "
        "300, enough for a stable per-package figure on dev-eval; training takes smaller packages too).")] = None,
) -> None:
    """Measure candidate packages against the corpus rule (typed, annotated share, generated code) and print
    one row per package with its verdict, to choose and pin a corpus by a rule rather than by hand."""
    try:
        typer.echo(_language(language).measure_candidates(names, cache, workers, min_sites))
    except (RuntimeError, subprocess.CalledProcessError) as exc:  # the download failed: say why, no traceback
        typer.echo(f"typetool corpus measure: {exc}", err=True)
        raise typer.Exit(1) from None


@corpus_app.command("stats")
def stats_command(
    out: Annotated[Path, typer.Argument(help="A corpus directory written by `corpus build`.")]
    = Path(".cache/corpus"),
) -> None:
    """Print statistics of a built corpus: slots per split and kind, distinct types, user-defined share."""
    from typetool import corpus

    typer.echo(corpus.summary(out))
