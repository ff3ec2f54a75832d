"""Contract: schemathesis drives every operation of /v1/openapi.json through the WSGI app.

No response may be a 5xx, and every response must match the status codes and the schema the
document declares. Requests carry a valid API key, so the authenticated operations are exercised
past authentication; the database holds an account, a key and a shipped order.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from orders import apikeys

from .conftest import make_order, scan, ship

pytestmark = [pytest.mark.contract, pytest.mark.django_db]

schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", get_wsgi_application())
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(autouse=True)
def _keep_the_test_transaction_open():
    """Like Django's test client: the WSGI handler must not close the test's connection."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_key(account) -> str:
    order = make_order(account, order_number="1001")
    scan(ship(order, "1Z999AA10123456784"), "in_transit")
    return apikeys.create_key(account=account, name="contract").secret


@schema.parametrize()
@settings(suppress_health_check=list(HealthCheck))  # examples: the profile in tests/conftest.py
def test_every_operation_honours_its_contract(case, api_key):
    case.call_and_validate(headers={"X-API-Key": api_key}, checks=CHECKS)
