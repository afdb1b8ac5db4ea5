"""``xynap license``: vendor key generation, license issuing, and verification on an install."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from xynap.platform.licenses.license import (
    ANY_INSTANCE,
    LicenseStatus,
    check_online,
    format_utc,
    generate_keypair,
    get_instance_id,
    issue_license,
    load_license_file,
    read_payload_unverified,
)

app = typer.Typer(help="Manage self-hosted license files.", no_args_is_help=True)

_STATE_STYLE = {"valid": "bold green", "missing": "bold yellow"}


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


def _settings() -> Any:
    from pydantic import ValidationError

    from xynap.core.config import get_settings

    try:
        return get_settings()
    except (ValidationError, ValueError) as exc:  # invalid environment: say so instead of a traceback
        _fail(f"the XYNAP_* settings are invalid: {exc}")


def _write_private(path: Path, pem: str, force: bool) -> None:
    if path.exists() and not force:
        _fail(f"{path} already exists; refusing to overwrite a private key (use --force).")
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(pem)
    os.chmod(path, 0o600)


@app.command()
def keygen(
    out_private: Annotated[Path, typer.Option("--out-private", help="Where to write the private key (PEM).")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Create a vendor Ed25519 key pair: writes the private key, prints the public key."""
    pem, public_b64 = generate_keypair()
    try:
        _write_private(out_private, pem, force)
    except OSError as exc:
        _fail(f"cannot write {out_private}: {exc.strerror or exc}")
    typer.echo(f"Private key written to {out_private} (mode 600). Keep it secret; it signs licenses.", err=True)
    typer.echo("Public key (set XYNAP_LICENSE_PUBLIC_KEY to this value on installs):", err=True)
    typer.echo(public_b64)


def _parse_expiry(value: str) -> date | datetime:
    text = value.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        _fail(f"--expires {value!r} is not a date (YYYY-MM-DD) or an ISO 8601 date-time.")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@app.command()
def issue(
    private_key: Annotated[Path, typer.Option("--private-key", help="Vendor private key (PEM).")],
    licensee: Annotated[str, typer.Option("--licensee", help="Company name of the licensee.")],
    modules: Annotated[str, typer.Option("--modules", help="Comma-separated module slugs, e.g. crm,mail.")],
    expires: Annotated[str, typer.Option("--expires", help="Last valid day (YYYY-MM-DD, UTC) or ISO date-time.")],
    instance: Annotated[
        str, typer.Option("--instance", help="Instance id the license is bound to; '*' for any instance.")
    ] = ANY_INSTANCE,
    max_users: Annotated[int | None, typer.Option("--max-users", min=1, help="User limit.")] = None,
    license_id: Annotated[str | None, typer.Option("--license-id", help="Default: a random id.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Output file (default: stdout).")] = None,
) -> None:
    """Sign a license file (vendor side)."""
    try:
        pem = private_key.read_text()
    except OSError as exc:
        _fail(f"cannot read the private key {private_key}: {exc.strerror or exc}")
    slugs = [m.strip() for m in modules.split(",") if m.strip()]
    if not slugs:
        _fail("--modules names no module.")
    try:
        doc = issue_license(
            pem,
            licensee=licensee,
            modules=slugs,
            instance_id=instance,
            expires_at=_parse_expiry(expires),
            max_users=max_users,
            license_id=license_id,
        )
    except ValueError as exc:
        _fail(f"cannot issue the license: {exc}")
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    except OSError as exc:
        _fail(f"cannot write {out}: {exc.strerror or exc}")
    typer.echo(f"License {doc['payload']['license_id']} written to {out}.", err=True)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return format_utc(value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


def _print_payload(payload: dict[str, Any] | None, status: LicenseStatus, title: str) -> None:
    console = Console()
    table = Table(title=title, show_header=False)
    table.add_column("Field", style="bold")
    table.add_column("Value")
    order = ["license_id", "licensee", "instance_id", "modules", "max_users", "issued_at", "expires_at", "format"]
    if payload:
        keys = [k for k in order if k in payload] + sorted(k for k in payload if k not in order)
        for key in keys:
            table.add_row(escape(key), escape(_fmt(payload[key])))
    else:
        table.add_row("payload", "(none readable)")
    style = _STATE_STYLE.get(status.state, "bold red")
    table.add_row("state", f"[{style}]{escape(status.state)}[/]")
    if status.instance_id:
        table.add_row("this instance", escape(status.instance_id))
    console.print(table)
    # The reason as plain text so it is never cut or wrapped by the table layout.
    typer.echo(f"{status.state}: {status.reason}")


def _resolve(file: Path | None, public_key: str | None, instance: str | None) -> tuple[Path, str, str | None]:
    settings = _settings()
    path = file or settings.effective_license_file
    key = public_key or settings.license_public_key
    if instance is None:
        try:
            instance = get_instance_id(settings, create=False)
        except OSError:
            instance = None
    return path, key, instance


@app.command()
def verify(
    file: Annotated[Path | None, typer.Argument(help="License file (default: the configured one).")] = None,
    public_key: Annotated[
        str | None, typer.Option("--public-key", help="Vendor public key, base64 (default: settings).")
    ] = None,
    instance: Annotated[
        str | None, typer.Option("--instance", help="Instance id to check against (default: this install's).")
    ] = None,
    online: Annotated[
        bool, typer.Option("--online", help="Also ask XYNAP_LICENSE_CHECK_URL whether it was revoked.")
    ] = False,
) -> None:
    """Verify a license file; exit code 0 when valid, 1 otherwise."""
    path, key, inst = _resolve(file, public_key, instance)
    status = load_license_file(path, key, inst)
    if online:
        url = _settings().license_check_url
        if not url:
            _fail("--online needs XYNAP_LICENSE_CHECK_URL to be set.")
        status = asyncio.run(check_online(status, url))
    payload = status.payload.to_payload() if status.payload is not None else None
    _print_payload(payload, status, f"License {path}")
    if inst is None:
        typer.echo("Note: the instance id was not checked (no instance id is configured yet).", err=True)
    raise typer.Exit(0 if status.is_valid else 1)


@app.command()
def show(
    file: Annotated[Path | None, typer.Argument(help="License file (default: the configured one).")] = None,
    public_key: Annotated[
        str | None, typer.Option("--public-key", help="Vendor public key, base64 (default: settings).")
    ] = None,
) -> None:
    """Print a license's content without requiring a valid signature, plus its verification state."""
    path, key, inst = _resolve(file, public_key, None)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        _fail(f"no license file at {path}.")
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror or exc}")
    status = load_license_file(path, key, inst)
    _print_payload(read_payload_unverified(data), status, f"License {path} (content not trusted)")
