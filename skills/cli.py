"""`apprentice skills …`: list, show, learn, run, export and import skills."""

from __future__ import annotations

import typer

app = typer.Typer(help="Learned skills: list, show, learn, run, export, import.",
                  no_args_is_help=True)
