"""Pools over the API: list with counts, assign (200 ready, 202 on its way, 503 wait), release."""

import pytest

from orchestration.choices import JobKind
from tenants.models import PoolDesktop
from tests.pool_world import add_desktops

pytestmark = pytest.mark.django_db


def test_the_list_shows_each_pools_counts(acme, globex):
    add_desktops(acme.pool, 2)
    body = acme.clients["read"].get("/api/v1/pools").json()
    assert [p["name"] for p in body["results"]] == ["acme pool"]
    counts = body["results"][0]["counts"]
    assert counts["size"] == 2 and counts["warm"] == 2 and counts["assigned"] == 0


def test_assign_then_release_over_the_api(acme):
    add_desktops(acme.pool, 1)
    api = acme.clients["operate"]
    url = f"/api/v1/pools/{acme.pool.pk}/assignments"
    ready = api.post(url, {"user": "ann"}, format="json")
    assert ready.status_code == 200, ready.content
    assert ready.json()["status"] == "assigned" and ready.json()["desktop"]["state"] == "AVAILABLE"
    again = api.post(url, {"user": "ann"}, format="json")
    assert again.json()["desktop"]["id"] == ready.json()["desktop"]["id"]
    # None warm, room below the maximum of 3: one is made for bob, 202 with the job.
    made = api.post(url, {"user": "bob"}, format="json")
    assert made.status_code == 202 and made.json()["job"]["kind"] == JobKind.DESKTOP_CREATE
    assert made.json()["estimate_seconds"] > 0 and made["Retry-After"]
    api.post(url, {"user": "cat"}, format="json")
    full = api.post(url, {"user": "dan"}, format="json")
    assert full.status_code == 503 and full.json()["status"] == "wait" and full["Retry-After"]
    assert api.delete(f"{url}/ann").status_code == 204
    assert not PoolDesktop.objects.filter(assigned_user="ann").exists()
    missing = api.delete(f"{url}/ann")
    assert missing.status_code == 404 and "holds no desktop" in missing.json()["detail"]


def test_a_read_token_may_not_assign_and_bad_users_are_400(acme):
    url = f"/api/v1/pools/{acme.pool.pk}/assignments"
    assert acme.clients["read"].post(url, {"user": "ann"}, format="json").status_code == 403
    bad = acme.clients["operate"].post(url, {"user": "a/b"}, format="json")
    assert bad.status_code == 400 and "user" in bad.json()["errors"]
    assert acme.clients["operate"].post(url, {"name": "ann"}, format="json").status_code == 400


def test_another_tenants_pool_is_not_found(acme, globex):
    api = acme.clients["admin"]
    assert api.get(f"/api/v1/pools/{globex.pool.pk}").status_code == 404
    url = f"/api/v1/pools/{globex.pool.pk}/assignments"
    assert api.post(url, {"user": "ann"}, format="json").status_code == 404
    assert api.delete(f"{url}/ann").status_code == 404
