"""Access tokens: the verified-claims cache must never outlive a token or accept a forged one."""

import uuid

import pytest

from xynap.core.errors import Unauthorized
from xynap.core.security import tokens


def test_a_cached_token_still_expires(settings, monkeypatch):
    token, ttl = tokens.issue_access_token(user_id=uuid.uuid4(), kind="tenant", tenant_id=uuid.uuid4(),
                                           role="staff", family_id=None)
    first = tokens.decode_access_token(token)
    assert tokens.decode_access_token(token) is first  # served from the cache
    real_time = tokens.time.time
    monkeypatch.setattr(tokens.time, "time", lambda: real_time() + ttl + 1)
    with pytest.raises(Unauthorized) as err:
        tokens.decode_access_token(token)
    assert err.value.code == "token_expired"


def test_a_forged_token_is_never_cached(settings):
    token, _ = tokens.issue_access_token(user_id=uuid.uuid4(), kind="tenant", tenant_id=None, role="staff",
                                         family_id=None)
    head, body, sig = token.split(".")
    forged = f"{head}.{body}.{'A' * len(sig)}"
    for _ in range(2):
        with pytest.raises(Unauthorized) as err:
            tokens.decode_access_token(forged)
        assert err.value.code == "token_invalid"
    assert not any(key[1] == forged for key in tokens._verified)
