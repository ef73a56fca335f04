"""Schemathesis against the live schema, in-process (WSGI): every operation, a bounded number of generated
requests each, for a customer token and a staff token. No server errors, no answer the schema does not
describe (status, content type, body)."""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import checks
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi import checks as openapi_checks

from tenants.models import ApiToken
from tests.factories import StaffUserFactory
from tests.partnerportal.api.conftest import make_tenant

# Generated requests per operation and token: 31 operations x 2 tokens in about 1.5 minutes on 2 cores.
EXAMPLES_PER_OPERATION = 5
CHECKS = [
    checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
]

# The examples and fuzzing phases, bounded by max_examples; the coverage phase (every boundary case of
# every parameter, unbounded) is left out to keep the run near a minute.
CONFIG = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}})
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application(), config=CONFIG)


@pytest.fixture
def test_connection_kept_open():
    """The WSGI handler closes the database connection after each request; in a test that is the test's
    transaction, so, as Django's test client does, it is kept open."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def tokens(db, simulator, test_connection_kept_open) -> dict[str, str]:
    """A customer's admin token and a staff token, in a world of two customers (the simulator is AWS)."""
    acme = make_tenant("acme", "111111111111")
    make_tenant("globex", "222222222222")
    staff = StaffUserFactory(username="schemathesis")
    _, staff_token = ApiToken.issue(staff_user=staff, name="st", scopes=["read", "operate", "admin"])
    return {"customer": acme.tokens["admin"], "staff": staff_token}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("who", ["customer", "staff"])
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_the_schema_says(case, who, tokens):
    case.call_and_validate(headers={"Authorization": f"Bearer {tokens[who]}"}, checks=CHECKS)
