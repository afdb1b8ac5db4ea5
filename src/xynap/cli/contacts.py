"""``xynap contacts``: import and export a company's contacts from the command line.

The commands run the same code as the API (``xynap.shared.contacts.transfer``) in-process: the
import is stored under the data directory like an upload, validated with the API's rules and
inserted in committed batches, with a progress bar.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

if TYPE_CHECKING:
    from xynap.core.config import Settings

app = typer.Typer(help="Import and export contacts (CSV, vCard, Excel).", no_args_is_help=True)


class ExportFormat(StrEnum):
    csv = "csv"
    vcf = "vcf"
    xlsx = "xlsx"


class ContactType(StrEnum):
    person = "person"
    organization = "organization"


def _main() -> Any:
    from xynap.cli import main

    return main


def _load_mapping(value: str) -> dict[str, str | None] | None:
    if value == "auto":
        return None
    path = Path(value)
    if not path.is_file():
        _main()._fail(f"--mapping: {value} is neither 'auto' nor a JSON file.")
    try:
        mapping = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        _main()._fail(f"--mapping: {value} is not readable JSON: {exc}")
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and (v is None or isinstance(v, str))
                                                for k, v in mapping.items()):
        _main()._fail('--mapping: expected a JSON object {"column": "target" or null, ...}.')
    return mapping


async def _import(settings: Settings, file: Path, tenant: str, mapping: dict[str, str | None] | None,
                  skip_invalid: bool, dry_run: bool, owner: str | None, tags: list[str],
                  contact_type: str | None) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table
    from sqlalchemy import func, select

    from xynap.platform.users.models import User
    from xynap.shared.contacts import transfer
    from xynap.shared.tags.models import Tag

    main = _main()
    out = main._out()
    async with main._runtime(settings) as runtime:
        tenant_id = await main._tenant_id(runtime, tenant)
        async with runtime.db.session(tenant_id=tenant_id) as db:
            owner_id = None
            if owner:
                owner_id = await db.scalar(select(User.id).where(User.email == owner.casefold()))
                if owner_id is None:
                    main._fail(f"--owner: there is no user {owner} in {tenant}.")
            tag_ids = []
            for name in tags:
                tag_id = await db.scalar(select(Tag.id).where(func.lower(Tag.name) == name.strip().lower()))
                if tag_id is None:
                    main._fail(f"--tag: there is no tag {name!r} in {tenant}.")
                tag_ids.append(tag_id)
            with file.open("rb") as stream:
                imp = await transfer.create_import(db, settings.data_dir, tenant_id, stream, file.name, None)
            options = await transfer.prepare_options(db, imp, mapping, skip_invalid=skip_invalid,
                                                     default_type=contact_type, default_owner_id=owner_id,
                                                     default_tag_ids=tag_ids)
            await db.commit()
            mapped = ", ".join(f"{escape(k)} → {v}" for k, v in options.mapping.items()) or "vCard"
            out.print(f"{escape(file.name)}: {imp.format}, {imp.encoding}, {imp.total_rows} rows; mapping: {mapped}")
            if dry_run:
                await transfer.validate_import(db, settings.data_dir, imp, options)
                await db.commit()
            else:
                imp.options = options.as_json()
                imp.status = "queued"
                await db.commit()
                with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                              TimeElapsedColumn(), console=out, transient=False) as progress:
                    task = progress.add_task("validate", total=max(imp.total_rows, 1))

                    async def show(current: Any) -> None:
                        progress.update(task, completed=current.rows_done, description=current.phase or "validate",
                                        total=max(current.total_rows, 1))

                    imp = await transfer.execute_import(db, settings.data_dir, imp.id, on_progress=show)
            if imp.errors:
                table = Table("line", "field", "column", "message", "value", title="Invalid rows")
                for e in imp.errors[:20]:
                    table.add_row(str(e["line"]), e["field"], escape(e.get("column") or ""), escape(e["message"]),
                                  escape(e.get("value") or ""))
                out.print(table)
                files = transfer.ImportFiles.of(settings.data_dir, tenant_id, imp.id)
                out.print(f"Every error: {files.errors}")
            if dry_run:
                out.print(f"[bold]Dry run:[/] {imp.valid_rows} valid, {imp.invalid_rows} invalid rows; "
                          "nothing was imported.")
                return 0
            colour = {"succeeded": "green", "rejected": "yellow"}.get(imp.status, "red")
            out.print(f"[{colour}]{imp.status}:[/] {escape(imp.message)}")
            return 0 if imp.status == "succeeded" else 1


@app.command("import")
def contacts_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="CSV (UTF-8 or Windows-1252, ; or , separated) or vCard file.")],
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant slug.")],
    mapping: Annotated[str, typer.Option("--mapping", help="'auto' (suggested from the header) or a JSON file "
                                                           '{"column": "target"}.')] = "auto",
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Import the valid rows even if some are "
                                                                      "invalid (otherwise nothing is imported).")]
    = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check every row and report; import nothing.")] = False,
    owner: Annotated[str | None, typer.Option("--owner", help="E-mail of the user who owns the contacts.")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Existing tag every contact gets (repeatable).")]
    = None,
    contact_type: Annotated[ContactType | None, typer.Option(
        "--type", help="Type of rows without a type column (default: person when a name is given).")] = None,
) -> None:
    """Import contacts from a CSV or vCard file."""
    main = _main()
    code = main._run(_import(main._settings(), file, tenant, _load_mapping(mapping), skip_invalid, dry_run, owner,
                             tag or [], contact_type.value if contact_type else None))
    if code:
        raise typer.Exit(code)


async def _export(settings: Settings, tenant: str, fmt: str, output: Path, version: str, sort: str = "name") -> int:
    from xynap.core.errors import ValidationFailed
    from xynap.shared.contacts import transfer

    main = _main()
    count = 0
    async with main._runtime(settings) as runtime:
        tenant_id = await main._tenant_id(runtime, tenant)
        async with runtime.db.session(tenant_id=tenant_id) as db:
            everything = await transfer.export_statement(db, None, transfer.ExportFilter())
            try:
                stmt = await transfer.export_query(db, everything, sort)
            except ValidationFailed as exc:
                main._fail(f"--sort: {exc.detail}")
            if fmt == "xlsx":
                await transfer.write_xlsx(db, stmt, output)
            else:
                chunks = transfer.csv_chunks(db, stmt) if fmt == "csv" else transfer.vcard_chunks(db, stmt, version)
                with output.open("wb") as f:  # noqa: ASYNC230 - a CLI command, nothing else runs in this loop
                    async for chunk in chunks:
                        f.write(chunk)
            from sqlalchemy import func, select

            from xynap.shared.contacts.models import Contact

            count = await db.scalar(select(func.count()).select_from(Contact)) or 0
    return count


@app.command("export")
def contacts_export(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant slug.")],
    output: Annotated[Path, typer.Option("-o", "--output", dir_okay=False, help="File to write.")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="csv, vcf or xlsx.")] = ExportFormat.csv,
    version: Annotated[str, typer.Option("--vcard-version", help="vCard version: 3.0 or 4.0.")] = "4.0",
    sort: Annotated[str, typer.Option("--sort", help="The list's order: name, created_at or cf.<key>; "
                                      "- before it for descending.")] = "name",
) -> None:
    """Export every contact of a tenant, in the contact list's order."""
    main = _main()
    if version not in ("3.0", "4.0"):
        main._fail("--vcard-version must be 3.0 or 4.0.")
    count = main._run(_export(main._settings(), tenant, fmt.value, output, version, sort))
    main._say(f"[green]Exported[/] {count} contacts to {escape(str(output))}.")
