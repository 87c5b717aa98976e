"""`typetool lsp`: start the language server on stdin/stdout (a thin front end over `typetool.lsp_server`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from typetool.settings import PRECISIONS


def lsp_command(
    model: Annotated[Path | None, typer.Option(
        "--model", help="Model directory; wins over the editor's typetool.model and pyproject.toml.")] = None,
    device: Annotated[str | None, typer.Option("--device", help="auto, cpu or cuda.")] = None,
    precision: Annotated[str | None, typer.Option(
        "--precision", help="fp32 or bf16 (the encoder's arithmetic; see `typetool predict --help`).")] = None,
    threads: Annotated[int, typer.Option("--threads", min=1, help="Threads torch may use for the model.")] = 1,
    debounce: Annotated[float, typer.Option(
        "--debounce", min=0.0, help="Seconds after the last edit before the rest of a file is predicted.")] = 0.3,
    log_file: Annotated[Path | None, typer.Option("--log-file", help="Write the server's log here.")] = None,
    stdio: Annotated[bool, typer.Option("--stdio", hidden=True,
                                        help="Accepted for clients that pass it; stdio is the only transport.")]
    = False,
) -> None:
    """Run the typetool language server: inlay hints with predicted types, hovers with the candidates and their
    evidence, and code actions that insert annotations safely. For editors; see docs/editor.md."""
    if device is not None and device not in ("auto", "cpu", "cuda"):
        raise typer.BadParameter("expected auto, cpu or cuda", param_hint="--device")
    if precision is not None and precision not in PRECISIONS:
        raise typer.BadParameter(f"expected {' or '.join(PRECISIONS)}", param_hint="--precision")
    logging.basicConfig(filename=str(log_file) if log_file else None, level=logging.INFO if log_file else
                        logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from typetool.lsp_server import ServerOptions, serve  # torch is imported in the background, later

    serve(ServerOptions(model=str(model.resolve()) if model is not None else None, device=device,
                        precision=precision, debounce=debounce, threads=threads))
