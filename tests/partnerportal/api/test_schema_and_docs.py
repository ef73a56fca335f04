"""The OpenAPI schema is served and valid; Swagger UI and ReDoc load their files from us, not a CDN."""

import re

import pytest
import yaml
from django.test import Client
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


@pytest.mark.slow
def test_the_schema_is_valid_openapi_3_and_lists_every_resource(client: Client):
    response = client.get("/api/v1/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate(schema)
    assert schema["openapi"].startswith("3.")
    for path in (
        "/api/v1/desktops",
        "/api/v1/desktops/{id}/actions",
        "/api/v1/desktops/actions",
        "/api/v1/jobs/{id}/cancel",
        "/api/v1/images/refresh",
        "/api/v1/bundles/refresh",
        "/api/v1/directories/refresh",
        "/api/v1/aws-accounts/{id}/verify",
        "/api/v1/power-policies/{id}",
        "/api/v1/usage",
        "/api/v1/audit-events",
        "/api/v1/session-events",
    ):
        assert path in schema["paths"], path


@pytest.mark.slow
def test_every_post_documents_idempotency_key_and_every_operation_its_errors(client: Client):
    schema = yaml.safe_load(client.get("/api/v1/schema/").content)
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"401", "403", "429"} <= codes, (method, path, codes)
            problem = operation["responses"]["401"]["content"]["application/problem+json"]
            assert problem["examples"], (method, path)
            if method == "post":
                names = {p["name"] for p in operation.get("parameters", [])}
                assert "Idempotency-Key" in names, path


@pytest.mark.parametrize("url", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_swagger_ui_and_redoc_use_no_cdn(client: Client, url):
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page) + re.findall(r'"(https?://[^"]+\.js)"', page)
    assert sources
    assert not [s for s in sources if s.startswith(("http://", "https://", "//"))], sources
    assert "drf_spectacular_sidecar" in page
    for script in [s for s in sources if s.endswith(".js")]:
        assert client.get(script).status_code == 200, script
