"""The demo `make run` seeds: idempotent, and its logins work."""

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from tenants.models import AwsAccount, Customer, CustomerMembership

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_the_staff_login_reaches_the_admin(client, settings):
    settings.DEBUG = True
    call_command("seed_demo", password="demo-secret-for-test")
    call_command("seed_demo", password="demo-secret-for-test")
    assert Customer.objects.filter(slug="acme").count() == 1
    assert AwsAccount.objects.filter(account_id="111111111111").count() == 1
    assert CustomerMembership.objects.get(user__username="acme-admin").customer.slug == "acme"

    response = client.post(
        reverse("admin:login"), {"username": "ops", "password": "demo-secret-for-test", "next": "/admin/"}
    )
    assert response.status_code == 302
    assert client.get("/admin/tenants/desktop/").status_code == 200


def test_seed_demo_refuses_to_run_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo")


def test_health_check_answers(client):
    assert client.get("/healthz").json() == {"status": "ok"}
