"""The `typetool` command line (typer + rich). A thin front end: every command calls `typetool.pipeline`.

Exit codes, as black and ruff: 0 clean, 1 `--check` found work (or findings), 2 usage error, 123 internal error.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer

from typetool import __version__
from typetool import messages as M
from typetool.cli_check import check_command
from typetool.cli_common import (
    EXIT_FOUND,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_USAGE,
    KINDS_HELP,
    MaxFileSizeOpt,
    OutputFormat,
    diag_json,
    err,
    max_bytes,
    out,
    parse_kinds,
    report,
    require_existing,
)
from typetool.cli_corpus import corpus_app
from typetool.cli_ide import lsp_command
from typetool.cli_model import (
    annotate_command,
    calibrate_command,
    evaluate_command,
    predict_command,
    ship_command,
    train_command,
)
from typetool.cli_write import apply_command, strip_command

# typer vendors click; its ClickException (base of UsageError, BadParameter, NoSuchOption) is not re-exported
CLICK_ERROR: type[Exception] = next(k for k in typer.BadParameter.__mro__ if k.__name__ == "ClickException")

app = typer.Typer(
    name="typetool",
    help="Predict type annotations for Python and TypeScript code with a trained model, with calibrated confidence, "
    "and write them back safely.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def version_callback(value: bool) -> None:
    if value:
        out.print(f"typetool {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=version_callback, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """typetool: predicted type annotations you can trust."""


@app.command()
def slices(
    paths: Annotated[list[Path], typer.Argument(help="Files or directories to analyse.")],
    format: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.text,
    sites: Annotated[str, typer.Option("--sites", help=KINDS_HELP)] = "params,returns,variables,attributes",
    unannotated: Annotated[bool, typer.Option("--unannotated", help="Only slots without an annotation.")] = False,
    max_file_size: MaxFileSizeOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only report errors.")] = False,
) -> None:
    """Print the usage slice of every type slot: the evidence the model reads."""
    from typetool.pipeline import slice_paths
    from typetool.slices import render_slice

    kinds = parse_kinds(sites)
    require_existing(paths)
    run = slice_paths(paths, kinds, unannotated, max_bytes(max_file_size, paths))
    report(run.diagnostics, quiet)
    if not run.project.source_files() and not run.diagnostics:  # (files found but skipped say why above)
        err.print(M.msg(M.NO_FILES)[1], style="yellow")
    if format == OutputFormat.json:
        payload = {
            "slices": [s.to_json() for s in run.slices],
            "diagnostics": [diag_json(d) for d in run.diagnostics],
        }
        sys.stdout.write(json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
    else:
        for s in run.slices:
            ann = f"  (annotated: {s.slot.annotation})" if s.slot.annotation else ""
            out.print(f"# {s.slot.file}:{s.slot.line}:{s.slot.column + 1} {s.slot.id}{ann}", markup=False,
                      style="bold")
            out.print(render_slice(s), markup=False)
            out.print()
    if not run.project.source_files():
        raise typer.Exit(EXIT_USAGE)


@app.command()
def graph(
    file: Annotated[Path, typer.Argument(help="The Python or TypeScript file whose part of the graph to print.")],
    project_root: Annotated[Path | None, typer.Option(
        "--project", help="Directory whose files take part in call resolution (default: the file's package).")]
    = None,
) -> None:
    """Print the code property graph of FILE as sorted text (nodes, then edges), for reading and diffing."""
    from typetool.cpg import dump_graph
    from typetool.languages import default_language, language_of
    from typetool.sources import DEFAULT_MAX_BYTES, relpath_for

    if not file.is_file():
        err.print(f"{file}: not a file", style="red")
        raise typer.Exit(EXIT_USAGE)
    language = language_of(file.name) or default_language()
    project = language.load(language.graph_scope(file, project_root), None, DEFAULT_MAX_BYTES)
    rel = relpath_for(file, Path.cwd())
    report([d for d in project.diagnostics if d.path in (rel, str(file))])
    if rel not in project.modules:
        err.print(f"{file}: could not be analysed", style="red")
        raise typer.Exit(EXIT_FOUND)
    sys.stdout.write(dump_graph(language.graph(project, [rel]), rel))


cache_app = typer.Typer(help="The prediction cache (.typetool_cache/ beside pyproject.toml).", no_args_is_help=True)


@cache_app.command("clean")
def cache_clean(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="A path of the project whose cache to remove (default: the current directory).")] = None,
) -> None:
    """Remove the prediction cache that runs over PATH use (`annotate`, `predict` and `check` rebuild it)."""
    from typetool.predcache import cache_root, clean

    directory = cache_root(paths or [Path(".")])
    sys.stdout.write(f"removed {directory}\n" if clean(directory) else f"no prediction cache at {directory}\n")


# The commands live in their own modules (each a thin front end over typetool.pipeline); registered here.
app.command("annotate")(annotate_command)
app.command("predict")(predict_command)
app.command("apply")(apply_command)
app.command("strip")(strip_command)
app.command("check")(check_command)
app.command("evaluate")(evaluate_command)
app.command("lsp")(lsp_command)
app.command("train")(train_command)
app.command("calibrate")(calibrate_command)
app.command("ship-model")(ship_command)
app.add_typer(corpus_app, name="corpus")
app.add_typer(cache_app, name="cache")


def main() -> None:
    """Entry point: run the app, turning unexpected exceptions into exit code 123 with a short message."""
    from typetool.languages import EngineError

    try:
        rc = app(standalone_mode=False)
        sys.exit(rc if isinstance(rc, int) else EXIT_OK)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted", style="red")
        sys.exit(EXIT_USAGE)
    except CLICK_ERROR as exc:  # typer's vendored click.ClickException (UsageError etc.)
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        err.print("interrupted", style="red")
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(EXIT_OK)
    except EngineError as exc:  # raised before anything is written: the files are as they were
        err.print(f"typetool: {exc}; no file was changed", style="red", markup=False)
        sys.exit(EXIT_USAGE)
    except Exception as exc:  # noqa: BLE001 - the one place internal errors are caught
        err.print(f"typetool: internal error: {type(exc).__name__}: {exc}", style="red", markup=False)
        if os.environ.get("TYPETOOL_DEBUG"):
            traceback.print_exc()
        else:
            err.print("(set TYPETOOL_DEBUG=1 for the traceback, and please report it)", style="dim")
        sys.exit(EXIT_INTERNAL)
