"""The `archiver` command. One module per command; this one only wires them up and turns
errors meant for people into one line and an exit code (tracebacks only with --debug)."""

from __future__ import annotations

import logging
import sys

import typer

from ..errors import UserError
from . import browser, capture, demo, export, imports, jobs, login, note, replay, seal, similar, verify

app = typer.Typer(
    name="archiver",
    help="Capture web pages and social-media posts as sealed, verifiable evidence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("capture")(capture.capture)
app.command("demo")(demo.demo)
app.command("import")(imports.import_files)
app.command("similar")(similar.similar)
app.command("verify")(verify.verify)
app.command("seal")(seal.seal)
app.command("timestamp")(seal.timestamp)
app.command("note")(note.note)
app.command("replay")(replay.replay)
app.command("export")(export.export)
app.command("jobs")(jobs.jobs)
app.command("login")(login.login)
app.add_typer(browser.app, name="browser")


@app.callback()
def _global(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and debug logs."),
) -> None:
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING)


def main() -> None:
    """Entry point: usage errors are typer's (exit 2); UserError is one line (exit 2)."""
    try:
        app()
    except UserError as exc:
        if "--debug" in sys.argv:
            raise
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
