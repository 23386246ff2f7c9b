"""What every command shares: the two consoles, the `--json` option, exit codes and JSON output.

Exit codes: 0 ok, 1 some runs did not end as expected (or a step failed), 2 bad input.
"""

import json
import sys
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

EXIT_OK, EXIT_FAILED, EXIT_INPUT = 0, 1, 2

err = Console(stderr=True, soft_wrap=True)  # a message stays one line, whatever the terminal width
out = Console(width=None if sys.stdout.isatty() else 160)  # pipes and CI logs get a wide table

JsonOpt = Annotated[bool, typer.Option("--json", help="print only JSON on stdout; logs go to stderr")]


def emit_json(data: Any) -> None:
    """The one JSON document a `--json` command prints on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def error(msg: str, prefix: str = "error:") -> None:
    """One red line on stderr; the message is printed as is (paths stay unhighlighted)."""
    err.print("[red]%s[/] %s" % (prefix, msg) if prefix else msg, highlight=False)


def fail(msg: str, code: int = EXIT_FAILED, prefix: str = "error:") -> NoReturn:
    error(msg, prefix)
    raise typer.Exit(code)
