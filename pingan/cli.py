"""Command line: `pingan serve | chat | demo | parse | db upgrade | org import | digest | export`."""

from __future__ import annotations

import json
import sys
from typing import Optional

import typer

app = typer.Typer(help="pingan — 平安社区 chat bot", no_args_is_help=True, add_completion=False)


@app.command()
def parse(
    text: Optional[str] = typer.Argument(None, help="message text to parse"),
    jsonl: bool = typer.Option(False, "--jsonl", help="read JSON lines with a 'text' field from stdin"),
) -> None:
    """Parse a message into category/item/location/urgency (prints JSON)."""
    from pingan.parser import parse as do_parse
    from pingan.parser.jsonl import run_jsonl

    if jsonl:
        run_jsonl(sys.stdin, sys.stdout)
        return
    if text is None:
        raise typer.BadParameter("give the text to parse, or --jsonl to read from stdin")
    typer.echo(json.dumps(do_parse(text).to_dict(), ensure_ascii=False))


if __name__ == "__main__":
    app()
