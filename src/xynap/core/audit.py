"""Audit trail: entity changes captured from the ORM, plus explicit records (logins, failures).

``after_flush`` collects, for every audited object the request inserted, changed or
deleted, the changed fields with their values before and after. The request's session
writes them as ``AuditRecord`` rows in the same transaction as the change. Secrets are
never written: fields named like passwords or tokens show as ``"***"``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from xynap.core.db import XSession
from xynap.core.kernel_models import AuditRecord, Job, OutboxEvent

SECRET_MARKERS = ("password", "secret", "token", "hash")
NOT_AUDITED = (AuditRecord, OutboxEvent, Job)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, decimal.Decimal)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def _mask(field: str, value: Any, secret: bool = False) -> Any:
    if value is not None and (secret or any(m in field for m in SECRET_MARKERS)):
        return "***"
    return _jsonable(value)


def mark_secret(obj: Any, *fields: str) -> None:
    """Mask these fields of ``obj`` in the audit log although their names look harmless
    (e.g. the ``value`` of a setting declared secret)."""
    obj._audit_secret_fields = frozenset(getattr(obj, "_audit_secret_fields", ())) | set(fields)


def _entity_id(state: Any, obj: Any) -> str:
    ident = getattr(obj, "id", None)
    if ident is None:  # tables keyed by something else (global_settings.key)
        parts = [p for p in state.mapper.primary_key_from_instance(obj) if p is not None]
        ident = ":".join(str(p) for p in parts) or None
    return "" if ident is None else str(ident)


def entity_name(obj: Any) -> str:
    return getattr(obj, "__entity_name__", None) or obj.__tablename__.removesuffix("s")


@event.listens_for(XSession, "after_flush")
def _collect_changes(session: Session, flush_context: Any) -> None:
    if "request" not in session.info:  # only request sessions audit entity changes
        return
    pending = session.info.setdefault("audit_pending", [])
    for obj, verb in [(o, "create") for o in session.new] + [(o, "update") for o in session.dirty] + [
        (o, "delete") for o in session.deleted
    ]:
        if isinstance(obj, NOT_AUDITED) or not getattr(obj, "__audited__", True) or not hasattr(obj, "__tablename__"):
            continue
        state = inspect(obj)
        secret = getattr(obj, "_audit_secret_fields", frozenset())
        changes: dict[str, Any] = {}
        for attr in state.mapper.column_attrs:
            key = attr.key
            if key in ("updated_at", "version"):
                continue
            hist = state.attrs[key].history
            hidden = key in secret
            if verb == "create":
                value = getattr(obj, key)
                if value is not None:
                    changes[key] = [None, _mask(key, value, hidden)]
            elif verb == "delete":
                value = getattr(obj, key)
                changes[key] = [_mask(key, value, hidden), None]
            elif hist.has_changes():
                before = hist.deleted[0] if hist.deleted else None
                after = hist.added[0] if hist.added else None
                changes[key] = [_mask(key, before, hidden), _mask(key, after, hidden)]
        if verb == "update" and not changes:
            continue
        pending.append((f"{entity_name(obj)}.{verb}", entity_name(obj), _entity_id(state, obj), changes,
                        getattr(obj, "tenant_id", None)))


def request_meta(request: Any) -> dict[str, Any]:
    if request is None:
        return {}
    principal = getattr(request.state, "principal", None)
    client = request.client.host if request.client else None
    meta: dict[str, Any] = {
        "ip": client,
        "user_agent": (request.headers.get("user-agent") or "")[:300] or None,
        "request_id": getattr(request.state, "request_id", None),
    }
    if principal is not None:
        meta.update(actor_kind=principal.kind, actor_id=principal.user_id, actor_email=principal.email)
    return meta


def write_pending_audit(session: Any, request: Any) -> None:
    """Turn the changes collected during the request into audit rows (same transaction)."""
    sync = session.sync_session if hasattr(session, "sync_session") else session
    pending = sync.info.pop("audit_pending", None)
    if not pending:
        return
    meta = request_meta(request)
    tenant = getattr(request.state, "tenant", None)
    for action, entity_type, entity_id, changes, row_tenant in pending:
        sync.add(AuditRecord(
            tenant_id=row_tenant if sync.info.get("platform") else (tenant.id if tenant else None),
            action=action, entity_type=entity_type, entity_id=entity_id, changes=changes, **meta,
        ))
    request.state.audited = True


def audit(session: Any, action: str, *, request: Any = None, entity_type: str | None = None,
          entity_id: Any = None, changes: dict[str, Any] | None = None, tenant_id: uuid.UUID | None = None,
          status_code: int | None = None, **actor: Any) -> AuditRecord:
    """Add one explicit audit row (logins, failures, platform actions) to ``session``."""
    meta = request_meta(request)
    meta.update({k: v for k, v in actor.items() if v is not None})
    record = AuditRecord(
        tenant_id=tenant_id, action=action, entity_type=entity_type,
        entity_id=str(entity_id) if entity_id is not None else None, changes=changes or {},
        status_code=status_code, **meta,
    )
    session.add(record)
    if request is not None:
        request.state.audited = True
    return record
