"""API keys: shown once, stored only as a hash, revocable, minted by `create_api_key`."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from orders import apikeys
from orders.models import ApiKey

pytestmark = pytest.mark.django_db


def test_only_a_hash_of_the_key_is_stored(account):
    new = apikeys.create_key(account=account, name="storefront")
    stored = ApiKey.objects.get()
    assert stored.key_hash == hashlib.sha256(new.secret.encode()).hexdigest()
    assert new.secret not in {stored.key_hash, stored.prefix, stored.name}
    assert new.secret.startswith(stored.prefix + "_")
    assert len(new.secret) > 40


def test_verify_finds_the_active_key_and_records_its_use(account):
    new = apikeys.create_key(account=account, name="storefront")
    found = apikeys.verify(new.secret)
    assert (found, found.account) == (new.api_key, account)
    assert ApiKey.objects.get().last_used_at is not None


@pytest.mark.parametrize("raw", ["", "sk_", "not-a-key", "sk_" + "x" * 300])
def test_verify_rejects_garbage(account, raw):
    apikeys.create_key(account=account, name="storefront")
    assert apikeys.verify(raw) is None


def test_a_changed_character_is_rejected(account):
    secret = apikeys.create_key(account=account, name="storefront").secret
    assert apikeys.verify(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None


def test_revoked_key_no_longer_verifies(account):
    new = apikeys.create_key(account=account, name="storefront")
    apikeys.revoke(new.api_key)
    assert apikeys.verify(new.secret) is None


def test_command_prints_a_working_key_once(account):
    out, err = StringIO(), StringIO()
    call_command("create_api_key", "acme", "order system", stdout=out, stderr=err)
    secret = out.getvalue().strip()
    assert apikeys.verify(secret).name == "order system"
    assert secret not in err.getvalue()
    assert "cannot be shown again" in err.getvalue()


def test_command_accepts_the_account_id(account):
    out = StringIO()
    call_command("create_api_key", str(account.pk), "storefront", stdout=out, stderr=StringIO())
    assert apikeys.verify(out.getvalue().strip()).account == account


def test_command_refuses_an_unknown_account(account):
    with pytest.raises(CommandError, match="No account"):
        call_command("create_api_key", "nope", "x", stdout=StringIO(), stderr=StringIO())
    assert ApiKey.objects.count() == 0


def test_a_key_that_was_just_used_is_revoked_at_once(account, django_assert_num_queries):
    new = apikeys.create_key(account=account, name="storefront")
    assert apikeys.verify(new.secret) is not None
    with django_assert_num_queries(0):  # remembered: no query per request
        assert apikeys.verify(new.secret).account == account
    apikeys.revoke(new.api_key)
    assert apikeys.verify(new.secret) is None


def test_revoking_in_the_admin_stops_the_key(admin_client, account):
    new = apikeys.create_key(account=account, name="storefront")
    assert apikeys.verify(new.secret) is not None
    response = admin_client.post(
        "/admin/orders/apikey/", {"action": "revoke", "_selected_action": [new.api_key.pk]}
    )
    assert response.status_code == 302
    assert apikeys.verify(new.secret) is None


def test_a_deleted_key_stops_working_at_once(account):
    new = apikeys.create_key(account=account, name="storefront")
    assert apikeys.verify(new.secret) is not None  # now remembered in the cache
    new.api_key.delete()
    assert apikeys.verify(new.secret) is None
