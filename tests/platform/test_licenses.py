"""License files: signing, verification, online revocation check and the `xynap license` CLI."""

from __future__ import annotations

import json
import socket
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from xynap.cli.license import app as license_cli
from xynap.core.config import Settings, reset_settings
from xynap.platform.licenses import license as lic_mod
from xynap.platform.licenses.license import (
    LicenseStatus,
    canonical_json,
    check_online,
    generate_keypair,
    get_instance_id,
    get_license_status,
    issue_license,
    load_license_file,
    public_key_from_private,
    refresh_license,
    set_license_status,
    verify_license,
)

INSTANCE = "inst-1"
FUTURE = datetime(2099, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    return generate_keypair()


def _issue(keys: tuple[str, str], **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "licensee": "Acme GmbH",
        "modules": ["crm", "mail"],
        "instance_id": INSTANCE,
        "expires_at": FUTURE,
        "max_users": 25,
    }
    args.update(kw)
    return issue_license(keys[0], **args)


def _bytes(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, indent=2, ensure_ascii=False).encode()


# --------------------------------------------------------------------------- offline


def test_keypair_and_public_key_from_private(keys: tuple[str, str]) -> None:
    pem, pub = keys
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert public_key_from_private(pem) == pub
    with pytest.raises(ValueError):
        public_key_from_private("not a key")


def test_issue_and_verify_round_trip(keys: tuple[str, str]) -> None:
    doc = _issue(keys)
    payload = doc["payload"]
    assert payload["format"] == 1
    assert payload["expires_at"] == "2099-01-01T00:00:00Z"
    assert payload["issued_at"].endswith("Z")
    assert payload["license_id"].startswith("lic_")

    for data in (doc, _bytes(doc), _bytes(doc).decode()):
        status = verify_license(data, keys[1], instance_id=INSTANCE)
        assert status.state == "valid", status.reason
        assert status.is_valid
        assert status.payload is not None
        assert status.payload.licensee == "Acme GmbH"
        assert status.payload.modules == ["crm", "mail"]
        assert status.payload.max_users == 25
        assert status.payload.expires_at == FUTURE
        assert status.module_access("crm") == "write"
        assert status.module_access("mail") == "write"
        assert status.module_access("billing") is None


def test_signature_covers_canonical_json(keys: tuple[str, str]) -> None:
    # Re-ordering keys and whitespace does not matter: the signature is over canonical JSON.
    doc = _issue(keys)
    reordered = {"signature": doc["signature"], "payload": dict(reversed(list(doc["payload"].items())))}
    assert verify_license(json.dumps(reordered), keys[1], instance_id=INSTANCE).is_valid
    assert canonical_json({"b": 1, "a": "ä"}) == '{"a":"ä","b":1}'.encode()


def test_date_expiry_means_end_of_day(keys: tuple[str, str]) -> None:
    doc = _issue(keys, expires_at=date(2098, 12, 31), license_id="L-1")
    assert doc["payload"]["expires_at"] == "2098-12-31T23:59:59Z"
    assert doc["payload"]["license_id"] == "L-1"


def test_issue_rejects_bad_input(keys: tuple[str, str]) -> None:
    with pytest.raises(ValueError):
        _issue(keys, modules=["Not A Slug!"])
    with pytest.raises(ValueError):
        _issue(keys, expires_at=datetime(2099, 1, 1))  # naive
    with pytest.raises(ValueError):
        _issue(keys, expires_at=datetime(2000, 1, 1, tzinfo=UTC))  # already over


def test_one_changed_byte_is_tampered(keys: tuple[str, str]) -> None:
    raw = _bytes(_issue(keys))
    changed = raw.replace(b'"max_users": 25', b'"max_users": 26')
    assert changed != raw and len(changed) == len(raw)
    status = verify_license(changed, keys[1], instance_id=INSTANCE)
    assert status.state == "tampered"
    assert not status.is_valid
    assert "signature" in status.reason
    # The (untrusted) payload is readable: its modules turn read-only.
    assert status.module_access("crm") == "read"
    assert status.module_access("billing") is None


def test_added_module_is_tampered(keys: tuple[str, str]) -> None:
    doc = _issue(keys)
    doc["payload"]["modules"] = ["crm", "mail", "billing"]
    status = verify_license(doc, keys[1], instance_id=INSTANCE)
    assert status.state == "tampered"
    assert status.module_access("billing") == "read"


def test_wrong_public_key_is_tampered(keys: tuple[str, str]) -> None:
    _, other_pub = generate_keypair()
    status = verify_license(_issue(keys), other_pub, instance_id=INSTANCE)
    assert status.state == "tampered"


def test_invalid_public_key_setting(keys: tuple[str, str]) -> None:
    for bad in ("", "not base64!!", "AAAA"):
        status = verify_license(_issue(keys), bad, instance_id=INSTANCE)
        assert status.state == "malformed"
        assert "XYNAP_LICENSE_PUBLIC_KEY" in status.reason


def test_expired(keys: tuple[str, str]) -> None:
    doc = _issue(keys, expires_at=datetime(2030, 6, 1, tzinfo=UTC))
    before = verify_license(doc, keys[1], instance_id=INSTANCE, now=datetime(2030, 5, 31, tzinfo=UTC))
    assert before.state == "valid"
    status = verify_license(doc, keys[1], instance_id=INSTANCE, now=datetime(2030, 6, 1, 0, 0, 1, tzinfo=UTC))
    assert status.state == "expired"
    assert "expired" in status.reason and "2030-06-01" in status.reason
    assert status.payload is not None
    assert status.module_access("crm") == "read"
    assert status.module_access("mail") == "read"
    assert status.module_access("billing") is None


def test_wrong_instance_and_wildcard(keys: tuple[str, str]) -> None:
    status = verify_license(_issue(keys), keys[1], instance_id="someone-else")
    assert status.state == "wrong_instance"
    assert "someone-else" in status.reason and INSTANCE in status.reason
    assert status.module_access("crm") == "read"

    wildcard = _issue(keys, instance_id="*")
    for inst in ("someone-else", INSTANCE, None):
        assert verify_license(wildcard, keys[1], instance_id=inst).state == "valid"
    # instance_id=None skips the instance check
    assert verify_license(_issue(keys), keys[1], instance_id=None).state == "valid"


def test_missing_file(tmp_path: Path, keys: tuple[str, str]) -> None:
    status = load_license_file(tmp_path / "nope.json", keys[1], INSTANCE)
    assert status.state == "missing"
    assert str(tmp_path / "nope.json") in status.reason
    assert status.payload is None
    assert status.module_access("crm") == "read"
    assert status.module_access("anything") == "read"


def test_load_valid_file(tmp_path: Path, keys: tuple[str, str]) -> None:
    path = tmp_path / "license.json"
    path.write_bytes(_bytes(_issue(keys)))
    assert load_license_file(path, keys[1], INSTANCE).is_valid
    assert load_license_file(tmp_path, keys[1], INSTANCE).state == "malformed"  # a directory


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"",
        b"\xff\xfe\x00",
        b"[]",
        b"42",
        b'{"payload": {}}',
        b'{"signature": "AAAA"}',
        b'{"payload": [], "signature": "AAAA"}',
        b'{"payload": {"license_id": "x"}, "signature": "%%%not-base64"}',
    ],
)
def test_malformed(tmp_path: Path, keys: tuple[str, str], content: bytes) -> None:
    path = tmp_path / "license.json"
    path.write_bytes(content)
    status = load_license_file(path, keys[1], INSTANCE)
    assert status.state == "malformed"
    assert status.reason.startswith("The license file is malformed")
    assert status.payload is None
    assert status.module_access("crm") == "read"


def test_signed_but_unknown_format_is_malformed(keys: tuple[str, str]) -> None:
    import base64

    from cryptography.hazmat.primitives import serialization

    payload = dict(_issue(keys)["payload"], format=2)
    key = serialization.load_pem_private_key(keys[0].encode(), password=None)
    sig = base64.b64encode(key.sign(canonical_json(payload))).decode()  # type: ignore[union-attr,call-arg]
    status = verify_license({"payload": payload, "signature": sig}, keys[1], instance_id=INSTANCE)
    assert status.state == "malformed"
    assert "format 2" in status.reason


# --------------------------------------------------------------------------- online check


class _VendorServer:
    """A tiny vendor endpoint on 127.0.0.1 answering whatever ``answer`` says."""

    def __init__(self) -> None:
        self.answer: tuple[int, bytes] = (200, b'{"status": "valid"}')
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                outer.requests.append(json.loads(self.rfile.read(length) or b"null"))
                code, body = outer.answer
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1/licenses/check"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def reply(self, code: int, body: dict[str, Any] | bytes) -> None:
        self.answer = (code, body if isinstance(body, bytes) else json.dumps(body).encode())


@pytest.fixture
def vendor() -> Iterator[_VendorServer]:
    server = _VendorServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
        server.thread.join(5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def valid_status(keys: tuple[str, str]) -> LicenseStatus:
    status = verify_license(_issue(keys, license_id="L-42"), keys[1], instance_id=INSTANCE)
    assert status.is_valid
    return status


async def test_online_revoked(vendor: _VendorServer, valid_status: LicenseStatus) -> None:
    vendor.reply(200, {"status": "revoked", "reason": "payment refunded"})
    status = await check_online(valid_status, vendor.url)
    assert status.state == "revoked"
    assert "payment refunded" in status.reason
    assert status.payload == valid_status.payload
    assert status.module_access("crm") == "read"
    assert vendor.requests == [{"license_id": "L-42", "instance_id": INSTANCE}]


async def test_online_valid_keeps_status(vendor: _VendorServer, valid_status: LicenseStatus) -> None:
    vendor.reply(200, {"status": "valid"})
    status = await check_online(valid_status, vendor.url)
    assert status == valid_status
    assert len(vendor.requests) == 1


@pytest.mark.parametrize(
    ("code", "body"),
    [(500, {"status": "revoked"}), (404, b"nope"), (200, b"not json"), (200, {"status": "whatever"})],
)
async def test_online_bad_answer_keeps_offline_result(
    vendor: _VendorServer, valid_status: LicenseStatus, code: int, body: Any, caplog: pytest.LogCaptureFixture
) -> None:
    vendor.reply(code, body)
    with caplog.at_level("WARNING", logger="xynap.licenses"):
        status = await check_online(valid_status, vendor.url)
    assert status == valid_status
    assert "offline verification stands" in caplog.text


async def test_online_server_down_keeps_offline_result(
    valid_status: LicenseStatus, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"http://127.0.0.1:{_free_port()}/check"
    with caplog.at_level("WARNING", logger="xynap.licenses"):
        status = await check_online(valid_status, url, timeout=2.0)
    assert status == valid_status
    assert "offline verification stands" in caplog.text


async def test_online_skips_invalid_status(vendor: _VendorServer, keys: tuple[str, str]) -> None:
    expired = verify_license(_issue(keys), keys[1], instance_id=INSTANCE, now=datetime(2100, 1, 1, tzinfo=UTC))
    assert await check_online(expired, vendor.url) == expired
    assert vendor.requests == []


# --------------------------------------------------------------------------- holder / settings


def _settings(tmp_path: Path, **kw: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, **kw)  # type: ignore[call-arg]


def test_instance_id_is_stable(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    assert get_instance_id(s, create=False) is None
    first = get_instance_id(s)
    assert first and (tmp_path / "instance_id").read_text().strip() == first
    assert get_instance_id(s) == first
    assert get_instance_id(_settings(tmp_path, instance_id="fixed")) == "fixed"


async def test_refresh_license(tmp_path: Path, keys: tuple[str, str], vendor: _VendorServer) -> None:
    old = get_license_status()
    try:
        settings = _settings(tmp_path, license_public_key=keys[1], instance_id=INSTANCE)
        status = await refresh_license(settings)
        assert status.state == "missing"
        assert get_license_status() is status

        (tmp_path / "license.json").write_bytes(_bytes(_issue(keys)))
        status = await refresh_license(settings)
        assert status.is_valid and get_license_status() is status

        vendor.reply(200, {"status": "revoked", "reason": "test"})
        settings = _settings(tmp_path, license_public_key=keys[1], instance_id=INSTANCE,
                             license_check_url=vendor.url)
        status = await refresh_license(settings)
        assert status.state == "revoked" and get_license_status().state == "revoked"

        # Without a configured instance id, one is created under data_dir and used.
        lic_file = tmp_path / "other.json"
        lic_file.write_bytes(_bytes(_issue(keys)))
        settings = _settings(tmp_path / "d2", license_public_key=keys[1], license_file=lic_file)
        status = await refresh_license(settings)
        assert status.state == "wrong_instance"
        assert status.instance_id == (tmp_path / "d2" / "instance_id").read_text().strip()
    finally:
        set_license_status(old)


def test_initial_holder_status() -> None:
    assert isinstance(lic_mod.get_license_status(), LicenseStatus)


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("XYNAP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("XYNAP_INSTANCE_ID", raising=False)
    monkeypatch.delenv("XYNAP_LICENSE_FILE", raising=False)
    monkeypatch.delenv("XYNAP_LICENSE_PUBLIC_KEY", raising=False)
    reset_settings()
    yield tmp_path
    reset_settings()


def _cli_issue(runner: CliRunner, tmp_path: Path) -> tuple[str, Path]:
    priv = tmp_path / "vendor" / "private.pem"
    res = runner.invoke(license_cli, ["keygen", "--out-private", str(priv)])
    assert res.exit_code == 0, res.output
    public = res.stdout.strip().splitlines()[-1]
    assert public == public_key_from_private(priv.read_text())
    assert stat.S_IMODE(priv.stat().st_mode) == 0o600

    out = tmp_path / "license.json"
    res = runner.invoke(
        license_cli,
        ["issue", "--private-key", str(priv), "--licensee", "Acme GmbH", "--modules", "crm,mail",
         "--expires", "2099-12-31", "--instance", "*", "--max-users", "10", "--out", str(out)],
    )
    assert res.exit_code == 0, res.output
    return public, out


def test_cli_keygen_issue_verify(cli_env: Path) -> None:
    runner = CliRunner()
    public, out = _cli_issue(runner, cli_env)
    doc = json.loads(out.read_text())
    assert doc["payload"]["modules"] == ["crm", "mail"]
    assert doc["payload"]["expires_at"] == "2099-12-31T23:59:59Z"
    assert doc["payload"]["max_users"] == 10

    res = runner.invoke(license_cli, ["verify", str(out), "--public-key", public])
    assert res.exit_code == 0, res.output
    assert "valid" in res.output and "Acme GmbH" in res.output

    # Default key from settings (the vendor key) does not match this test key.
    res = runner.invoke(license_cli, ["verify", str(out)])
    assert res.exit_code == 1

    # keygen refuses to overwrite the private key.
    res = runner.invoke(license_cli, ["keygen", "--out-private", str(cli_env / "vendor" / "private.pem")])
    assert res.exit_code == 1
    assert "already exists" in res.output


def test_cli_issue_to_stdout_and_default_file(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    public, _ = _cli_issue(runner, cli_env)
    res = runner.invoke(
        license_cli,
        ["issue", "--private-key", str(cli_env / "vendor" / "private.pem"), "--licensee", "Beta",
         "--modules", "crm", "--expires", "2099-01-01T12:00:00Z", "--instance", "box-7"],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["payload"]["instance_id"] == "box-7"
    assert doc["payload"]["expires_at"] == "2099-01-01T12:00:00Z"

    # verify with defaults: the file and key come from the settings.
    data_dir = cli_env / "data"
    data_dir.mkdir()
    (data_dir / "license.json").write_text(res.stdout)
    monkeypatch.setenv("XYNAP_LICENSE_PUBLIC_KEY", public)
    monkeypatch.setenv("XYNAP_INSTANCE_ID", "box-7")
    reset_settings()
    res = runner.invoke(license_cli, ["verify"])
    assert res.exit_code == 0, res.output
    monkeypatch.setenv("XYNAP_INSTANCE_ID", "box-8")
    reset_settings()
    res = runner.invoke(license_cli, ["verify"])
    assert res.exit_code == 1
    assert "wrong_instance" in res.output


def test_cli_tampered_file(cli_env: Path) -> None:
    runner = CliRunner()
    public, out = _cli_issue(runner, cli_env)
    out.write_text(out.read_text().replace("Acme GmbH", "Evil Corp"))

    res = runner.invoke(license_cli, ["verify", str(out), "--public-key", public])
    assert res.exit_code == 1
    assert "tampered" in res.output
    assert "The license signature does not match its content" in res.output
    assert "Traceback" not in res.output

    # show prints the content anyway, with the state.
    res = runner.invoke(license_cli, ["show", str(out), "--public-key", public])
    assert res.exit_code == 0, res.output
    assert "Evil Corp" in res.output
    assert "tampered" in res.output


def test_cli_errors_are_clean(cli_env: Path) -> None:
    runner = CliRunner()
    _, out = _cli_issue(runner, cli_env)
    priv = cli_env / "vendor" / "private.pem"
    cases = [
        ["issue", "--private-key", str(cli_env / "missing.pem"), "--licensee", "A", "--modules", "crm",
         "--expires", "2099-01-01"],
        ["issue", "--private-key", str(priv), "--licensee", "A", "--modules", "crm", "--expires", "someday"],
        ["issue", "--private-key", str(out), "--licensee", "A", "--modules", "crm", "--expires", "2099-01-01"],
        ["issue", "--private-key", str(priv), "--licensee", "A", "--modules", "CRM!", "--expires", "2099-01-01"],
        ["show", str(cli_env / "missing.json")],
    ]
    for args in cases:
        res = runner.invoke(license_cli, args)
        assert res.exit_code == 1, (args, res.output)
        assert res.output.startswith("Error: "), res.output
        assert res.exception is None or isinstance(res.exception, SystemExit)

    res = runner.invoke(license_cli, ["verify", str(cli_env / "missing.json")])
    assert res.exit_code == 1
    assert "missing" in res.output and "No license file" in res.output

    past = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    res = runner.invoke(
        license_cli,
        ["issue", "--private-key", str(priv), "--licensee", "A", "--modules", "crm", "--expires", past],
    )
    assert res.exit_code == 1 and "expires_at" in res.output
