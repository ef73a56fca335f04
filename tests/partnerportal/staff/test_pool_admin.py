"""The staff console's pools: made and changed with day boxes and times (no JSON typed), every rule
checked with a message on the form, the change audited; a pool's page shows its counts, its week and its
last 24 hours without inline code."""

import re

import pytest
from django.urls import reverse

from orchestration.models import AuditEvent
from tenants.models import Pool
from tests.factories import AwsAccountFactory, BundleFactory, CustomerFactory, DirectoryFactory
from tests.partnerportal.staff.test_content_security_policy import _inline_code
from tests.pool_world import add_desktops, make_pool

pytestmark = pytest.mark.django_db


def _form(account, directory, bundle, **changes) -> dict:
    data = {
        "customer": account.customer_id,
        "aws_account": account.pk,
        "region": "us-east-1",
        "directory": directory.pk,
        "bundle": bundle.pk,
        "name": "call centre",
        "running_mode": "MANUAL",
        "min_size": 2,
        "max_size": 20,
        "buffer": 3,
        "time_zone": "Europe/Berlin",
        "release_delay_minutes": 15,
        "max_unavailable_percent": 10,
        "enabled": "on",
    }
    for row in range(4):
        data.update({f"w{row}_start": "08:00", f"w{row}_end": "18:00", f"w{row}_min": 0, f"w{row}_buffer": 0})
    data.update(changes)
    return data


@pytest.fixture
def place():
    account = AwsAccountFactory(customer=CustomerFactory(name="Acme"))
    return account, DirectoryFactory(aws_account=account), BundleFactory(aws_account=account)


def test_staff_make_a_pool_with_a_window_from_day_boxes(staff_client, place):
    window = {
        "w0_days": ["0", "1", "2", "3", "4"],
        "w0_start": "07:30",
        "w0_end": "19:00",
        "w0_min": 10,
        "w0_buffer": 5,
    }
    response = staff_client.post(reverse("admin:tenants_pool_add"), _form(*place, **window))
    assert response.status_code == 302, response.content.decode()[:2000]
    pool = Pool.objects.get()
    assert pool.schedule == [
        {"days": [0, 1, 2, 3, 4], "start": "07:30", "end": "19:00", "min": 10, "buffer": 5}
    ]
    assert pool.time_zone == "Europe/Berlin"
    event = AuditEvent.objects.get(action="PoolCreate")
    assert event.target_id == str(pool.pk) and event.details["buffer"] == 3


def test_bad_settings_are_shown_on_the_form_and_nothing_is_made(staff_client, place):
    account, directory, _ = place
    stranger = BundleFactory(aws_account=AwsAccountFactory(customer=CustomerFactory()))
    overlap = {
        "w0_days": ["0"],
        "w0_start": "08:00",
        "w0_end": "12:00",
        "w0_min": 1,
        "w0_buffer": 1,
        "w1_days": ["0"],
        "w1_start": "11:00",
        "w1_end": "13:00",
        "w1_min": 1,
        "w1_buffer": 1,
    }
    response = staff_client.post(
        reverse("admin:tenants_pool_add"), _form(account, directory, stranger, min_size=30, **overlap)
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "overlap on day 0" in text and "above the maximum" in text and "another AWS account" in text
    assert not Pool.objects.exists() and not AuditEvent.objects.exists()


def test_a_pools_page_shows_its_overview_without_inline_code(staff_client, place):
    account, directory, bundle = place
    pool = make_pool(
        account,
        directory=directory,
        bundle=bundle,
        schedule=[{"days": [5, 6], "start": "10:00", "end": "12:00", "min": 4, "buffer": 2}],
    )
    add_desktops(pool, 2)
    response = staff_client.get(reverse("admin:tenants_pool_change", args=[pool.pk]))
    assert response.status_code == 200
    text = response.content.decode()
    assert 'data-count="warm">2<' in text and text.count('class="pool-window"') == 4
    ticked = re.findall(r'<input type="checkbox" name="(w\d_days)" value="(\d)"[^>]*checked', text)
    assert ticked == [("w0_days", "5"), ("w0_days", "6")]
    assert "selfservice/pools.js" in text and "chart.umd.min.js" in text
    assert _inline_code(text) == []
    listing = staff_client.get(reverse("admin:tenants_pool_changelist")).content.decode()
    assert "2 (0 / 2)" in listing
    assert staff_client.get(reverse("admin:tenants_pool_add")).status_code == 200
