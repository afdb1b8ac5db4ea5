"""Signed license files for self-hosted installs.

A license file is JSON::

    {"payload": {...}, "signature": "<base64 Ed25519 signature>"}

The signature covers the *canonical JSON* of ``payload`` exactly as it appears in the file:
``json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()``.
Datetimes in the payload are ISO 8601 strings in UTC with a ``Z`` suffix.

The vendor keeps the Ed25519 private key (PEM) and issues licenses with :func:`issue_license`;
every install knows the public key (``XYNAP_LICENSE_PUBLIC_KEY``, base64 of the raw 32 bytes)
and checks the file with :func:`verify_license` / :func:`load_license_file`. Verification never
raises on bad input: it returns a :class:`LicenseStatus` whose ``reason`` tells an operator what
is wrong and what to do.

An optional online check (:func:`check_online`) lets the vendor revoke a license; when the
check cannot be made (network down, timeout, server error) the offline result stands.

The process keeps the current status in a module-level holder (:func:`get_license_status`,
:func:`set_license_status`, :func:`refresh_license`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import os
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
)

if TYPE_CHECKING:
    from xynap.core.config import Settings

log = logging.getLogger("xynap.licenses")

LICENSE_FORMAT = 1
ANY_INSTANCE = "*"

LicenseState = Literal["valid", "missing", "malformed", "tampered", "expired", "wrong_instance", "revoked"]
ModuleAccess = Literal["write", "read"]

_SLUG_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_MAX_SERVER_REASON = 500


# --------------------------------------------------------------------------- payload


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def format_utc(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix, e.g. ``2027-12-31T23:59:59Z``."""
    return _to_utc(value).isoformat().replace("+00:00", "Z")


class License(BaseModel):
    """The signed content of a license file."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    format: Literal[1] = LICENSE_FORMAT
    license_id: str = Field(min_length=1, max_length=200)
    licensee: str = Field(min_length=1, max_length=500)
    instance_id: str = Field(min_length=1, max_length=200)  # "*" = any instance
    modules: list[str]
    max_users: int | None = Field(default=None, ge=1)
    issued_at: AwareDatetime
    expires_at: AwareDatetime

    @field_validator("issued_at", "expires_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _to_utc(value)

    @field_validator("modules")
    @classmethod
    def _slugs(cls, value: list[str]) -> list[str]:
        for slug in value:
            if not _SLUG_RE.match(slug):
                raise ValueError(f"invalid module slug {slug!r}")
        return value

    @field_serializer("issued_at", "expires_at")
    def _ser_dt(self, value: datetime) -> str:
        return format_utc(value)

    @property
    def any_instance(self) -> bool:
        return self.instance_id == ANY_INSTANCE

    def to_payload(self) -> dict[str, Any]:
        """The JSON-ready payload dict (datetimes as UTC ``Z`` strings)."""
        return self.model_dump(mode="json")


def canonical_json(payload: dict[str, Any]) -> bytes:
    """The exact bytes the signature covers."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# --------------------------------------------------------------------------- keys


def generate_keypair() -> tuple[str, str]:
    """A new vendor key pair: (private key as unencrypted PKCS#8 PEM, public key as base64 raw bytes)."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return pem, _public_b64(private.public_key())


def _public_b64(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def _load_private(pem: str | bytes) -> Ed25519PrivateKey:
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a readable unencrypted PEM private key: {exc}") from exc
    if isinstance(key, Ed25519PrivateKey):
        return key
    raise ValueError("the private key is not an Ed25519 key")


def public_key_from_private(pem: str | bytes) -> str:
    """The base64 raw public key that belongs to a PEM private key. Raises ValueError if unreadable."""
    return _public_b64(_load_private(pem).public_key())


def _load_public(public_key_b64: str) -> Ed25519PublicKey | None:
    try:
        raw = base64.b64decode((public_key_b64 or "").strip(), validate=True)
        if len(raw) != 32:
            return None
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        return None


# --------------------------------------------------------------------------- issue


def _expiry(value: datetime | date) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("expires_at must be timezone-aware")
        return _to_utc(value).replace(microsecond=0)
    # A plain date: the license holds through the end of that day (UTC).
    return datetime.combine(value, time(23, 59, 59), tzinfo=UTC)


def issue_license(
    private_key_pem: str | bytes,
    *,
    licensee: str,
    modules: Iterable[str],
    instance_id: str,
    expires_at: datetime | date,
    max_users: int | None = None,
    license_id: str | None = None,
    issued_at: datetime | None = None,
) -> dict[str, Any]:
    """Sign a license and return the file content (``{"payload": ..., "signature": ...}``).

    ``expires_at`` is an aware datetime, or a date meaning "through the end of that day, UTC".
    Raises ValueError on an unreadable key or invalid fields.
    """
    key = _load_private(private_key_pem)
    cleaned = sorted({m.strip().lower() for m in modules if m and m.strip()})
    now = (issued_at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    try:
        lic = License(
            license_id=license_id or f"lic_{uuid.uuid4().hex}",
            licensee=licensee.strip(),
            instance_id=instance_id.strip(),
            modules=cleaned,
            max_users=max_users,
            issued_at=now,
            expires_at=_expiry(expires_at),
        )
    except ValidationError as exc:
        raise ValueError(_validation_summary(exc)) from exc
    if lic.expires_at <= lic.issued_at:
        raise ValueError("expires_at must be after the issue time")
    payload = lic.to_payload()
    signature = key.sign(canonical_json(payload))
    return {"payload": payload, "signature": base64.b64encode(signature).decode()}


def _validation_summary(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ())) or "payload"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


# --------------------------------------------------------------------------- status


@dataclass(frozen=True)
class LicenseStatus:
    """The outcome of checking a license.

    ``payload`` is the parsed license when the payload could be read. For ``tampered`` it is
    **untrusted** (the signature does not match) and must only be used for display and for the
    read-only fallback of :meth:`module_access`. For ``missing`` and ``malformed`` it is None.
    ``instance_id`` is the id of this installation the license was checked against (None if
    the instance was not checked).
    """

    state: LicenseState
    reason: str
    payload: License | None = None
    instance_id: str | None = None

    @property
    def is_valid(self) -> bool:
        return self.state == "valid" and self.payload is not None

    def module_access(self, slug: str) -> ModuleAccess | None:
        """How far the license lets a module be used: ``"write"``, ``"read"`` or None.

        Rule:

        * valid license: ``"write"`` for every module the license lists, None for the others;
        * any other state (expired, tampered, revoked, wrong_instance, missing, malformed): the
          license no longer grants writing, but data is never locked away. Every module the
          payload lists gets ``"read"`` when a payload could be parsed (even an untrusted,
          tampered one); with no readable payload (missing, malformed) *every* module gets
          ``"read"``.

        The caller combines this with the tenant's bookings/installed modules, so a module the
        company never used stays off even though this method says ``"read"``.
        """
        if self.is_valid:
            assert self.payload is not None
            return "write" if slug in self.payload.modules else None
        if self.payload is None:
            return "read"
        return "read" if slug in self.payload.modules else None

    @property
    def licensed_modules(self) -> list[str]:
        return list(self.payload.modules) if self.payload is not None else []


def _status(
    state: LicenseState, reason: str, payload: License | None = None, instance_id: str | None = None
) -> LicenseStatus:
    return LicenseStatus(state=state, reason=reason, payload=payload, instance_id=instance_id)


_FIX_FILE = "Install the original license file from your vendor, or ask the vendor for a new one."


def _day(value: datetime) -> str:
    return format_utc(value)


def verify_license(
    data: bytes | str | dict[str, Any],
    public_key_b64: str,
    *,
    instance_id: str | None,
    now: datetime | None = None,
) -> LicenseStatus:
    """Check a license file's content against the vendor public key. Never raises.

    ``instance_id`` is this installation's id; None skips the instance check. ``now`` defaults
    to the current time (aware; naive values are taken as UTC).
    """
    try:
        return _verify(data, public_key_b64, instance_id=instance_id, now=now)
    except Exception as exc:  # pragma: no cover - a last guard: verification must not raise
        log.exception("unexpected error while verifying a license")
        return _status("malformed", f"The license could not be checked ({exc}). {_FIX_FILE}",
                       instance_id=instance_id)


def _verify(data: bytes | str | dict[str, Any], public_key_b64: str, *, instance_id: str | None,
            now: datetime | None) -> LicenseStatus:
    def malformed(what: str) -> LicenseStatus:
        return _status("malformed", f"The license file is malformed: {what}. {_FIX_FILE}", instance_id=instance_id)

    if isinstance(data, dict):
        doc: Any = data
    else:
        try:
            text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else str(data)
        except UnicodeDecodeError:
            return malformed("it is not UTF-8 text")
        if not text.strip():
            return malformed("it is empty")
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError) as exc:
            return malformed(f"it is not valid JSON ({exc})")
    if not isinstance(doc, dict):
        return malformed("the top level is not a JSON object")
    raw_payload = doc.get("payload")
    signature_b64 = doc.get("signature")
    if not isinstance(raw_payload, dict):
        return malformed('the "payload" object is missing')
    if not isinstance(signature_b64, str) or not signature_b64.strip():
        return malformed('the "signature" is missing')
    try:
        signature = base64.b64decode(signature_b64.strip(), validate=True)
    except (binascii.Error, ValueError):
        return malformed("the signature is not valid base64")

    public = _load_public(public_key_b64)
    if public is None:
        return _status(
            "malformed",
            "The configured license public key (XYNAP_LICENSE_PUBLIC_KEY) is not a base64 Ed25519 "
            "public key of 32 bytes. Set it to the key your vendor published.",
            instance_id=instance_id,
        )

    try:
        message = canonical_json(raw_payload)
    except (TypeError, ValueError) as exc:
        return malformed(f"the payload cannot be serialized ({exc})")

    try:
        lic: License | None = License.model_validate(raw_payload)
        parse_error = ""
    except ValidationError as exc:
        lic, parse_error = None, _validation_summary(exc)

    try:
        public.verify(signature, message)
    except InvalidSignature:
        return _status(
            "tampered",
            "The license signature does not match its content: the file was changed after it was "
            "issued, or it was signed with a different vendor key than XYNAP_LICENSE_PUBLIC_KEY. "
            f"{_FIX_FILE} Licensed modules are read-only until then.",
            lic,
            instance_id,
        )

    if lic is None:
        fmt = raw_payload.get("format")
        if fmt != LICENSE_FORMAT and isinstance(fmt, int):
            return _status(
                "malformed",
                f"The license uses format {fmt}, which this version of XyNaP does not understand "
                f"(it reads format {LICENSE_FORMAT}). Upgrade XyNaP or ask your vendor for a format "
                f"{LICENSE_FORMAT} license.",
                instance_id=instance_id,
            )
        return malformed(f"the payload has invalid fields ({parse_error})")

    if instance_id is not None and not lic.any_instance and lic.instance_id != instance_id:
        return _status(
            "wrong_instance",
            f"The license {lic.license_id} was issued for instance {lic.instance_id!r}, but this "
            f"installation is instance {instance_id!r}. Ask your vendor for a license issued to "
            f"instance {instance_id!r}. Licensed modules are read-only until then.",
            lic,
            instance_id,
        )

    current = now or datetime.now(UTC)
    if current.tzinfo is None:
        current = current.replace(tzinfo=UTC)
    if current >= lic.expires_at:
        return _status(
            "expired",
            f"The license {lic.license_id} for {lic.licensee} expired at {_day(lic.expires_at)}. "
            "Licensed modules are read-only (no data is deleted) until you install a renewed "
            "license from your vendor.",
            lic,
            instance_id,
        )

    return _status(
        "valid",
        f"The license {lic.license_id} for {lic.licensee} is valid until {_day(lic.expires_at)}.",
        lic,
        instance_id,
    )


def missing_status(path: Path | str | None = None, instance_id: str | None = None) -> LicenseStatus:
    where = f" at {path}" if path else ""
    return _status(
        "missing",
        f"No license file was found{where}. Put the license file from your vendor there, or point "
        "XYNAP_LICENSE_FILE at it. Modules are read-only until a license is installed.",
        instance_id=instance_id,
    )


def load_license_file(path: Path | str, public_key_b64: str, instance_id: str | None) -> LicenseStatus:
    """Read and verify a license file; a missing file gives state ``missing``. Never raises."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        return missing_status(p, instance_id)
    except IsADirectoryError:
        return _status("malformed", f"The license path {p} is a directory, not a file. {_FIX_FILE}",
                       instance_id=instance_id)
    except OSError as exc:
        return _status(
            "malformed",
            f"The license file {p} cannot be read ({exc.strerror or exc}). Check its permissions.",
            instance_id=instance_id,
        )
    return verify_license(data, public_key_b64, instance_id=instance_id)


def read_payload_unverified(data: bytes | str | dict[str, Any]) -> dict[str, Any] | None:
    """The raw payload dict of a license file without any checks (for display only)."""
    try:
        doc = data if isinstance(data, dict) else json.loads(data)
    except (ValueError, TypeError, RecursionError):
        return None
    if isinstance(doc, dict) and isinstance(doc.get("payload"), dict):
        return doc["payload"]
    return None


# --------------------------------------------------------------------------- online check


async def check_online(status: LicenseStatus, url: str, *, timeout: float = 5.0) -> LicenseStatus:
    """Ask the vendor whether the license was revoked.

    POSTs ``{"license_id", "instance_id"}`` to ``url``. A 2xx answer ``{"status": "revoked",
    "reason": "..."}`` turns the status into ``revoked``; ``{"status": "valid"}`` keeps it.
    A network error, timeout, non-2xx answer or unreadable body keeps the offline result (and
    logs a warning). Only a valid status is checked; any other status is returned unchanged.
    """
    if not status.is_valid or status.payload is None:
        return status
    lic = status.payload
    body = {"license_id": lic.license_id, "instance_id": status.instance_id or lic.instance_id}
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            resp = await client.post(url, json=body)
    except (httpx.HTTPError, OSError) as exc:
        log.warning("license online check at %s failed (%s); the offline verification stands", url, exc)
        return status
    if not resp.is_success:
        log.warning("license online check at %s answered HTTP %s; the offline verification stands",
                    url, resp.status_code)
        return status
    try:
        answer = resp.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or answer.get("status") not in ("valid", "revoked"):
        log.warning("license online check at %s gave an unexpected answer; the offline verification stands", url)
        return status
    if answer["status"] == "valid":
        return status
    server_reason = answer.get("reason")
    detail = ""
    if isinstance(server_reason, str) and server_reason.strip():
        detail = f" ({server_reason.strip()[:_MAX_SERVER_REASON]})"
    log.warning("license %s was revoked by the vendor%s", lic.license_id, detail)
    return replace(
        status,
        state="revoked",
        reason=(
            f"The license {lic.license_id} was revoked by the vendor{detail}. Licensed modules are "
            "read-only (no data is deleted). Contact your vendor to restore or replace the license."
        ),
    )


# --------------------------------------------------------------------------- instance id


def get_instance_id(settings: Settings, *, create: bool = True) -> str | None:
    """This installation's id: ``settings.instance_id``, else a stable uuid4 kept in
    ``data_dir/instance_id`` (created when missing unless ``create`` is False)."""
    if settings.instance_id:
        return settings.instance_id.strip()
    path = Path(settings.data_dir) / "instance_id"
    try:
        existing = path.read_text().strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        return existing
    if not create:
        return None
    new_id = str(uuid.uuid4())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".instance_id.{os.getpid()}.tmp")
    tmp.write_text(new_id + "\n")
    try:
        os.link(tmp, path)  # atomic; fails if another process created the file first
    except FileExistsError:
        pass
    except OSError:  # a file system without hard links
        if not path.exists():
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip() or new_id


# --------------------------------------------------------------------------- holder

_current: LicenseStatus = _status("missing", "The license has not been loaded yet.")


def get_license_status() -> LicenseStatus:
    """The license status of this process (set by :func:`refresh_license`)."""
    return _current


def set_license_status(status: LicenseStatus) -> None:
    global _current
    _current = status


async def refresh_license(settings: Settings) -> LicenseStatus:
    """Load the license file, run the online check if ``license_check_url`` is set, store and
    return the result. Never raises on a bad license."""
    def load() -> LicenseStatus:
        instance = get_instance_id(settings)
        return load_license_file(settings.effective_license_file, settings.license_public_key, instance)

    status = await asyncio.to_thread(load)
    if settings.license_check_url:
        status = await check_online(status, settings.license_check_url)
    previous = get_license_status()
    set_license_status(status)
    if status.state != previous.state:
        level = logging.INFO if status.is_valid else logging.WARNING
        log.log(level, "license state: %s: %s", status.state, status.reason)
    return status
