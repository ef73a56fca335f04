"""The portal's pool pages: the list with counts, a pool's page with its weekly grid and 24-hour chart
data, for every role; another tenant's pool is a 404."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from tenants.choices import MembershipRole
from tenants.models import PoolDesktop, PoolSample
from tests.pool_world import add_desktops, make_pool

pytestmark = pytest.mark.django_db
WINDOW = {"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00", "min": 6, "buffer": 3}


@pytest.fixture
def pool(tenant):
    pool = make_pool(
        tenant.account,
        directory=tenant.directory,
        bundle=tenant.bundle,
        name="call centre",
        schedule=[WINDOW],
    )
    members = add_desktops(pool, 3)
    PoolDesktop.objects.filter(pk=members[0].pk).update(assigned_user="ann", assigned_at=timezone.now())
    now = timezone.now()
    for minutes, size in ((90, 2), (30, 3)):
        PoolSample.objects.create(
            pool=pool,
            taken_at=now - timedelta(minutes=minutes),
            size=size,
            assigned=1,
            warm=2,
            stopped=0,
            target=3,
        )
    PoolSample.objects.create(
        pool=pool, taken_at=now - timedelta(hours=30), size=9, assigned=9, warm=0, stopped=0, target=9
    )
    return pool


@pytest.mark.parametrize("role", [MembershipRole.VIEWER, MembershipRole.ADMIN])
def test_the_list_shows_each_pools_sizes_and_counts(tenant, pool, role):
    page = tenant.clients[role].get("/portal/pools/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "call centre" in text and "0 / 10 / 2" in text
    assert '<a class="nav-link active" href="/portal/pools/">' in text or "/portal/pools/" in text


def test_a_pools_page_shows_counts_the_week_and_the_last_day(tenant, pool):
    page = tenant.clients[MembershipRole.VIEWER].get(f"/portal/pools/{pool.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-count="assigned">1<' in text and 'data-count="warm">2<' in text
    # Monday 08:00–18:00 is a window (6/3); Sunday is not (0/2).
    assert text.count('class="pool-window"') == 5 * 10
    assert ">6/3<" in text and ">0/2<" in text
    chart = json.loads(page.context["overview"].chart and json.dumps(page.context["overview"].chart))
    assert chart["size"] == [2, 3], "the 30-hour-old sample is outside the last 24 hours"
    assert "chart.umd.min.js" in text and "selfservice/pools.js" in text
    assert "<script>" not in text.replace('<script id="pool-chart', "")


def test_another_tenants_pool_is_not_found(tenant, other_tenant):
    theirs = make_pool(other_tenant.account, directory=other_tenant.directory, bundle=other_tenant.bundle)
    assert tenant.clients[MembershipRole.ADMIN].get(f"/portal/pools/{theirs.pk}/").status_code == 404
    assert theirs.name not in tenant.clients[MembershipRole.ADMIN].get("/portal/pools/").content.decode()
