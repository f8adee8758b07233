"""`odoo-collections mapping`: write a column mapping for a ledger file, from what detection finds in it."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .cli_common import EXIT_INPUT, err_console
from .common.errors import ConnectorError
from .files.streams import suggest_mapping


class MappingFailure(click.ClickException):
    """A file or an output path that cannot be used: exit code 5 with a message."""

    exit_code = EXIT_INPUT


def register(cli: click.Group) -> None:
    """Add the `mapping` commands to the command line."""
    cli.add_command(mapping)


@click.group()
def mapping() -> None:
    """Write column mappings for ledger files (CSV / XLSX exports)."""


@mapping.command("suggest")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write the mapping here.")
@click.option("--sheet", help="Sheet of a workbook (default: the first).")
@click.option("--force", is_flag=True, help="Overwrite an existing --output file.")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def suggest(path: Path, output: Path | None, sheet: str | None, force: bool, output_format: str) -> None:
    """Print (or write) the mapping that reading FILE finds: layout, header row, columns, date format and decimal
    mark, for you to edit and give to `run --mapping`."""
    try:
        found = suggest_mapping(path, sheet)
    except OSError as err:
        raise MappingFailure(f"cannot read {path}: {err.strerror or err}") from err
    except ConnectorError as err:
        raise MappingFailure(str(err)) from err
    text = json.dumps(found.document, indent=2, ensure_ascii=False) + "\n"
    if output is not None:
        _write(output, text, force)
    recognised = found.report.describe() if found.report else None
    if output_format == "json":
        click.echo(json.dumps({"mapping": found.document, "recognised": recognised, "missing": found.missing}, indent=2,
                              ensure_ascii=False))
        return
    if output is None:
        click.echo(text, nl=False)
    err_console.print(f"recognised {recognised}" if recognised else "read as a plain table (header on line 1)")
    if found.missing:
        missing = ", ".join(found.missing)
        err_console.print(f"[yellow]no column found for {missing}: add them under \"columns\"[/yellow]")


def _write(output: Path, text: str, force: bool) -> None:
    if output.exists() and not force:
        raise MappingFailure(f"{output} exists (use --force to overwrite)")
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as err:
        raise MappingFailure(f"--output {output}: cannot write it ({err.strerror or err})") from err
    err_console.print(f"mapping written to {output}")
