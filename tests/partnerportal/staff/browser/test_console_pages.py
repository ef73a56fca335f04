"""Every console page this work touched, in chromium at 1440×900 and 1280×800: each opens, no script or
style is blocked by the Content-Security-Policy, no changelist column is cut off. Screenshots go to
var/screenshots/console/ to be looked at."""

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from orchestration.models import ScheduleRun
from orchestration.services.pipelines import pipeline_schedule_name
from tenants.models import GoldenImagePipeline
from tests.factories import DesktopFactory, JobFactory, JobItemFactory, PowerPolicyFactory, StaffUserFactory
from tests.partnerportal.staff.browser.conftest import columns_fit, staff_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
OURS = {"PartnerManaged": "true"}


def test_every_touched_page_opens_and_fits(page, live_server, customer_account, shoot):
    account, directory, bundle = (customer_account[k] for k in ("aws_account", "directory", "bundle"))
    desktops = [
        DesktopFactory(
            aws_account=account, directory=directory, bundle=bundle, tags=OURS, user_name=f"ann{n}"
        )
        for n in range(3)
    ]
    pipeline = GoldenImagePipeline.objects.create(
        customer=account.customer, aws_account=account, region=directory.region, name="nightly",
        golden_desktop=desktops[0], schedule_cron="0 3 * * *", image_name_prefix="golden", enabled=True,
        copy_to_regions=["eu-west-1"],
    )  # fmt: skip
    ScheduleRun.objects.create(
        schedule=pipeline_schedule_name(pipeline), window_start=timezone.now(), status="SUCCEEDED", step="prune",
        finished_at=timezone.now(),
    )  # fmt: skip
    reconcile = JobFactory(
        kind="RECONCILE", customer=account.customer, status="SUCCEEDED", params={"aws_account_id": account.account_id},
        result={"summary": {"desktops_seen": 3, "desktops_missing": 1, "lost_tag": 0},
                "regions": {directory.region: {"desktops": {"missing": [desktops[2].workspace_id]}}}},
        started_at=timezone.now(), finished_at=timezone.now(),
    )  # fmt: skip
    # A create job part way: some done, one failed, AWS working on some, the rest not sent yet.
    running = JobFactory(
        kind="DESKTOP_CREATE", customer=account.customer, status="RUNNING", total_items=30,
        params={"aws_account_id": account.account_id, "count": 30}, started_at=timezone.now(),
    )  # fmt: skip
    states = ["SUCCEEDED"] * 8 + ["FAILED"] + ["WAITING"] * 12 + ["RUNNING"] * 2 + ["PENDING"] * 7
    for n, state in enumerate(states):
        JobItemFactory(job=running, sequence=n, status=state)
    policy = PowerPolicyFactory(
        customer=account.customer,
        schedule={
            "timezone": "Europe/Berlin",
            "windows": [{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00"}],
        },
    )
    StaffUserFactory(username="ops")
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    base = live_server.url
    staff_sign_in(page, base, "ops")

    pages = {
        "20-home": reverse("admin:index"),
        "21-account": reverse("admin:tenants_awsaccount_change", args=[account.pk]),
        "22-account-add": reverse("admin:tenants_awsaccount_add"),
        "23-bundle-create": reverse("admin:tenants_bundle_create"),
        "24-image-import": f"{reverse('admin:tenants_image_import')}?aws_account={account.pk}&region={directory.region}",
        "25-image-from-desktop": reverse("admin:tenants_image_create_from_desktop"),
        "26-directory-register": reverse("admin:tenants_directory_register"),
        "27-token-issue": reverse("admin:tenants_apitoken_add"),
        "28-webhook-add": reverse("admin:orchestration_webhookendpoint_add"),
        "29-pipeline": reverse("admin:tenants_goldenimagepipeline_change", args=[pipeline.pk]),
        "30-reconcile-job": reverse("admin:orchestration_job_change", args=[reconcile.pk]),
        "31-snapshots": reverse("admin:tenants_desktop_snapshots", args=[desktops[0].pk]),
        "32-desktop-stop-confirm": reverse("admin:tenants_desktop_act", args=[desktops[0].pk, "stop"]),
        "33-byol": reverse("admin:tenants_awsaccount_byol", args=[account.pk]),
        "41-power-policy": reverse("admin:tenants_powerpolicy_change", args=[policy.pk]),
        "42-job-part-way": reverse("admin:orchestration_job_change", args=[running.pk]),
        "43-pipeline-add": reverse("admin:tenants_goldenimagepipeline_add"),
        "44-onboard-start": reverse("admin:tenants_awsaccount_onboard_start"),
    }
    for name, path in pages.items():
        response = page.goto(f"{base}{path}")
        if name == "42-job-part-way":  # the stacked bar, in the order of the item states
            bar = page.locator("#job-progress svg.job-bar")
            expect(bar).to_have_attribute("data-segments", "8 1 0 12 9")
        assert response is not None and response.status == 200, f"{name}: {response and response.status}"
        assert page.locator("#content h1").count() == 1, f"{name}: the title is not shown exactly once"
        if name == "43-pipeline-add":  # a checkbox and its label stand apart, not glued together
            gap = page.evaluate(
                """() => {
                    const box = document.getElementById("id_enabled").getBoundingClientRect();
                    const range = document.createRange();
                    range.selectNodeContents(document.querySelector("label[for=id_enabled]"));
                    return range.getBoundingClientRect().left - box.right;
                }"""
            )
            assert gap >= 4, f"the checkbox's label text starts {gap}px after it"
        shoot(page, name)

    for name, path in {
        "34-bundles": reverse("admin:tenants_bundle_changelist"),
        "35-directories": reverse("admin:tenants_directory_changelist"),
        "36-accounts": reverse("admin:tenants_awsaccount_changelist"),
        "37-pipelines": reverse("admin:tenants_goldenimagepipeline_changelist"),
        "38-job-items": reverse("admin:orchestration_jobitem_changelist"),
        "39-audit": reverse("admin:orchestration_auditevent_changelist"),
    }.items():
        page.goto(f"{base}{path}")
        shoot(page, name)
        assert columns_fit(page, 1440) == [] and columns_fit(page, 1280) == [], name

    # The pipeline form's chain in the browser: each choice brings the next one's options (htmx).
    page.goto(f"{base}{reverse('admin:tenants_goldenimagepipeline_add')}")
    page.select_option("#id_customer", str(account.customer_id))
    expect(page.locator("#id_aws_account option")).to_have_count(2)
    page.select_option("#id_aws_account", str(account.pk))
    expect(page.locator("#id_region")).to_have_value(directory.region)  # the account's only region
    expect(page.locator("#id_golden_desktop option")).to_have_count(1 + len(desktops))
    expect(page.locator("#id_target_bundles input")).to_have_count(1)
    shoot(page, "45-pipeline-add-chained")

    # Terminate from the list: the confirmation page, with the warning, before anything is sent.
    page.goto(f"{base}{reverse('admin:tenants_desktop_changelist')}")
    page.locator("#result_list tbody input.action-select").first.check()
    page.select_option("select[name=action]", "terminate_desktops")
    page.click("button[name=index]")
    expect(page.locator("#content")).to_contain_text("cannot be undone")
    shoot(page, "40-terminate-confirm")
    assert blocked == []
