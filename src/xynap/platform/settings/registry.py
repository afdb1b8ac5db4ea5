"""Typed settings: declared by the platform and by modules (``Module.settings``), stored as JSON."""

from __future__ import annotations

from typing import Any

from xynap.core.errors import ValidationFailed
from xynap.core.modules import SettingDecl

PLATFORM_SETTINGS = [
    SettingDecl("company.timezone", "str", "Europe/Berlin", "Time zone", scope="tenant"),
    SettingDecl("company.locale", "str", "de", "Default language", scope="tenant"),
    SettingDecl("company.currency", "str", "EUR", "Currency", scope="tenant"),
    SettingDecl("smtp.host", "str", None, "SMTP server", scope="global"),
    SettingDecl("smtp.port", "int", 587, "SMTP port", scope="global"),
    SettingDecl("smtp.user", "str", None, "SMTP user", scope="global"),
    SettingDecl("smtp.password", "str", None, "SMTP password", secret=True, scope="global"),
    SettingDecl("smtp.from", "str", "XyNaP <noreply@localhost>", "Sender address", scope="global"),
    SettingDecl("platform.signup_enabled", "bool", True, "Self-service sign-up", scope="global"),
]

_TYPES: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "float": (int, float), "bool": (bool,),
                                       "json": (dict, list, str, int, float, bool)}


def declared(runtime: Any, scope: str) -> dict[str, tuple[SettingDecl, str | None]]:
    out = {d.key: (d, None) for d in PLATFORM_SETTINGS if d.scope == scope}
    for module in runtime.registry.enabled():
        for decl in module.settings:
            if decl.scope == scope:
                out[f"{module.slug}.{decl.key}"] = (decl, module.slug)
    return out


def validate_value(key: str, decl: SettingDecl, value: Any) -> Any:
    if value is None:
        return None
    types = _TYPES[decl.type]
    if isinstance(value, bool) and decl.type in ("int", "float"):
        types = ()
    if not isinstance(value, types):
        raise ValidationFailed(f"{key} must be of type {decl.type}.", code="invalid_setting",
                               errors=[{"field": "value", "message": f"expected {decl.type}"}])
    return value
