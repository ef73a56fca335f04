"""Directories end to end: registration as a job on a real worker, the short actions, sync, admin, command."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from orchestration.actors import Actor
from orchestration.aws.errors import TagGuardRefused
from orchestration.models import AuditEvent
from orchestration.services.directories import (
    DirectoryInvalid,
    directory_deregister,
    directory_register,
    directory_set_maintenance_mode,
    directory_set_security_group,
    directory_sync,
)
from tenants.models import AwsAccount, Customer, Directory
from tests.factories import DesktopFactory
from tests.integration.conftest import wait_for_job
from tests.integration.world import admin_client

pytestmark = pytest.mark.integration
ACTOR = Actor.system("test")
PARTNER_TAG = {"Key": "PartnerManaged", "Value": "true"}


@pytest.fixture
def fresh_customer(transactional_db, simulator):
    """A customer whose AWS account has a Directory Service directory not yet registered with WorkSpaces."""
    world = simulator.create_demo_world(ready=False)
    demo = world["accounts"][0]
    customer = Customer.objects.create(name="Acme", slug="acme")
    account = AwsAccount.objects.create(
        customer=customer,
        account_id=demo["account_id"],
        role_arn=demo["role_arn"],
        default_region=demo["region"],
        regions=[demo["region"]],
        byop_enabled=True,
    )
    simulator.update_account(account.account_id, external_id=account.external_id)
    simulator.clear_calls()
    return {"customer": customer, "aws_account": account, "demo": demo}


def test_register_shared_for_a_non_byol_account_follows_it_to_registered(
    stack_factory, fresh_customer, simulator
):
    stack = stack_factory().start()
    demo = fresh_customer["demo"]
    job = directory_register(
        actor=ACTOR,
        aws_account=fresh_customer["aws_account"],
        region=demo["region"],
        directory_id=demo["directory_id"],
        subnet_ids=demo["subnet_ids"],
    )
    job = wait_for_job(job, stack)

    assert job.status == "SUCCEEDED"
    (request,) = simulator.requests("RegisterWorkspaceDirectory")
    assert request["Tenancy"] == "SHARED"
    assert request["Tags"] == [PARTNER_TAG]
    assert request["SubnetIds"] == demo["subnet_ids"]
    directory = Directory.objects.get(directory_id=demo["directory_id"])
    assert directory.state == "REGISTERED"
    assert directory.tenancy == "SHARED"
    assert directory.name == demo["directory_name"]
    assert directory.registration_code and directory.workspace_security_group_id.startswith("sg-")
    assert directory.tags == {"PartnerManaged": "true"}
    event = AuditEvent.objects.get(action="RegisterWorkspaceDirectory")
    assert (event.outcome, event.target_id, event.job_id) == ("SUCCEEDED", demo["directory_id"], job.pk)
    assert event.aws_request_id == job.items.get().aws_request_id != ""
    counts = simulator.call_counts(account_id=demo["account_id"])
    print(f"\nFIGURE directory_register {counts}")
    assert counts["RegisterWorkspaceDirectory"] == 1


def test_a_byol_account_registers_dedicated_by_the_rule(stack_factory, fresh_customer, simulator):
    demo = fresh_customer["demo"]
    workspaces = admin_client(simulator, demo, "workspaces")
    cidr = workspaces.list_available_management_cidr_ranges(ManagementCidrRangeConstraint="10.0.0.0/8")
    workspaces.modify_account(
        DedicatedTenancySupport="ENABLED",
        DedicatedTenancyManagementCidrRange=cidr["ManagementCidrRanges"][0],
    )
    simulator.advance(601)
    account = fresh_customer["aws_account"]
    account.dedicated_tenancy_support = "ENABLED"
    account.dedicated_tenancy_management_cidr_range = cidr["ManagementCidrRanges"][0]
    account.save()
    simulator.clear_calls()

    with pytest.raises(DirectoryInvalid) as excinfo:
        directory_register(
            actor=ACTOR,
            aws_account=account,
            region="us-east-1",
            directory_id=demo["directory_id"],
            tenancy="SHARED",
        )
    assert "must be registered DEDICATED" in excinfo.value.errors["tenancy"][0]
    assert simulator.calls() == []

    stack = stack_factory().start()
    job = directory_register(
        actor=ACTOR, aws_account=account, region="us-east-1", directory_id=demo["directory_id"]
    )
    assert wait_for_job(job, stack).status == "SUCCEEDED"
    (request,) = simulator.requests("RegisterWorkspaceDirectory")
    assert request["Tenancy"] == "DEDICATED"
    assert "SubnetIds" not in request  # none given: WorkSpaces uses the directory's own
    directory = Directory.objects.get(directory_id=demo["directory_id"])
    assert (directory.tenancy, directory.subnet_ids) == ("DEDICATED", demo["subnet_ids"])


def test_a_lost_register_response_is_found_again_not_registered_twice(
    stack_factory, fresh_customer, simulator
):
    simulator.schedule_fault("RegisterWorkspaceDirectory", "lose_response")
    stack = stack_factory().start()
    demo = fresh_customer["demo"]
    job = directory_register(
        actor=ACTOR,
        aws_account=fresh_customer["aws_account"],
        region="us-east-1",
        directory_id=demo["directory_id"],
    )
    job = wait_for_job(job, stack)

    assert job.status == "SUCCEEDED"
    registers = simulator.calls("RegisterWorkspaceDirectory")
    assert len(registers) == 1 and registers[0]["fault"]
    assert Directory.objects.get(directory_id=demo["directory_id"]).state == "REGISTERED"
    event = AuditEvent.objects.get(action="RegisterWorkspaceDirectory")
    assert event.details["adopted"] is True
    assert job.items.get().attempts == 2


def test_aws_refusing_the_network_fails_the_item_with_its_code(stack_factory, fresh_customer, simulator):
    demo = fresh_customer["demo"]
    ec2 = admin_client(simulator, demo, "ec2")
    same_zone = ec2.create_subnet(
        VpcId=demo["vpc_id"], CidrBlock="10.10.9.0/24", AvailabilityZone="us-east-1a"
    )
    subnets = [demo["subnet_ids"][0], same_zone["Subnet"]["SubnetId"]]
    stack = stack_factory().start()
    job = directory_register(
        actor=ACTOR,
        aws_account=fresh_customer["aws_account"],
        region="us-east-1",
        directory_id=demo["directory_id"],
        subnet_ids=subnets,
    )
    job = wait_for_job(job, stack)

    assert job.status == "FAILED"
    item = job.items.get()
    assert item.error_code == "UnsupportedNetworkConfigurationException"
    assert "two different Availability Zones" in item.error_message
    assert not Directory.objects.filter(directory_id=demo["directory_id"]).exists()
    event = AuditEvent.objects.get(action="RegisterWorkspaceDirectory")
    assert (event.outcome, event.error_code) == ("FAILED", "UnsupportedNetworkConfigurationException")
    assert len(simulator.calls("RegisterWorkspaceDirectory")) == 1


def test_security_group_and_maintenance_opt_out_reach_aws_audited(customer_account, simulator):
    demo = customer_account["demo"]
    directory = customer_account["directory"]
    group = admin_client(simulator, demo, "ec2").create_security_group(
        GroupName="rdp-from-gateway", Description="RDP from the partner gateway", VpcId=demo["vpc_id"]
    )["GroupId"]
    simulator.clear_calls()

    directory_set_security_group(actor=ACTOR, directory=directory, security_group_id=group)
    directory_set_maintenance_mode(actor=ACTOR, directory=directory, enabled=False)

    calls = simulator.calls()
    # Our row had no tags recorded: one DescribeTags for the guard, then the two changes.
    assert [c["operation"] for c in calls if c["service"] == "workspaces"] == [
        "DescribeTags",
        "ModifyWorkspaceCreationProperties",
        "ModifyWorkspaceCreationProperties",
    ]
    described = admin_client(simulator, demo, "workspaces").describe_workspace_directories(
        DirectoryIds=[directory.directory_id]
    )["Directories"][0]["WorkspaceCreationProperties"]
    assert described["CustomSecurityGroupId"] == group
    assert described["EnableMaintenanceMode"] is False
    directory.refresh_from_db()
    assert (directory.custom_security_group_id, directory.maintenance_mode_enabled) == (group, False)
    events = AuditEvent.objects.filter(action="ModifyWorkspaceCreationProperties").order_by("id")
    assert [(e.outcome, e.details) for e in events] == [
        ("SUCCEEDED", {"CustomSecurityGroupId": group}),
        ("SUCCEEDED", {"EnableMaintenanceMode": False}),
    ]
    assert all(e.aws_request_id for e in events)


def test_a_directory_the_customer_registered_untagged_is_synced_but_never_changed(fresh_customer, simulator):
    demo = fresh_customer["demo"]
    admin_client(simulator, demo, "workspaces").register_workspace_directory(
        DirectoryId=demo["directory_id"], SubnetIds=demo["subnet_ids"], Tenancy="SHARED"
    )
    report = directory_sync(aws_account=fresh_customer["aws_account"], region="us-east-1")
    assert report["adopted"] == [demo["directory_id"]]
    assert report["not_partner_managed"] == [demo["directory_id"]]
    directory = Directory.objects.get(directory_id=demo["directory_id"])
    assert (directory.state, directory.tags) == ("REGISTERED", {})
    simulator.clear_calls()

    with pytest.raises(TagGuardRefused):
        directory_set_maintenance_mode(actor=ACTOR, directory=directory, enabled=False)
    with pytest.raises(TagGuardRefused):
        directory_deregister(actor=ACTOR, directory=directory)
    # Our record had no tags: the guard asked AWS each time, and changed nothing.
    assert [c["operation"] for c in simulator.calls() if c["service"] == "workspaces"] == [
        "DescribeTags",
        "DescribeTags",
    ]
    assert simulator.requests("ModifyWorkspaceCreationProperties") == []
    assert simulator.requests("DeregisterWorkspaceDirectory") == []
    assert list(AuditEvent.objects.values_list("outcome", flat=True)) == ["REFUSED", "REFUSED"]


def test_deregister_refused_with_live_desktops_then_done_when_they_are_gone(
    fresh_customer, stack_factory, simulator
):
    stack = stack_factory().start()
    demo = fresh_customer["demo"]
    account = fresh_customer["aws_account"]
    job = directory_register(
        actor=ACTOR, aws_account=account, region="us-east-1", directory_id=demo["directory_id"]
    )
    assert wait_for_job(job, stack).status == "SUCCEEDED"
    directory = Directory.objects.get(directory_id=demo["directory_id"])
    desktop = DesktopFactory(aws_account=account, directory=directory, bundle=None)
    simulator.clear_calls()

    with pytest.raises(DirectoryInvalid):
        directory_deregister(actor=ACTOR, directory=directory)
    assert simulator.calls() == []

    desktop.state = "TERMINATED"
    desktop.save()
    directory = directory_deregister(actor=ACTOR, directory=directory)
    assert directory.state == "DEREGISTERED"
    assert len(simulator.calls("DeregisterWorkspaceDirectory")) == 1
    assert admin_client(simulator, demo, "workspaces").describe_workspace_directories()["Directories"] == []
    outcomes = list(
        AuditEvent.objects.filter(action="DeregisterWorkspaceDirectory").values_list("outcome", flat=True)
    )
    assert sorted(outcomes) == ["REFUSED", "SUCCEEDED"]

    # Registering it again reuses the row.
    job = directory_register(
        actor=ACTOR, aws_account=account, region="us-east-1", directory_id=demo["directory_id"]
    )
    assert wait_for_job(job, stack).status == "SUCCEEDED"
    assert Directory.objects.get(pk=directory.pk).state == "REGISTERED"


def test_sync_marks_a_directory_aws_no_longer_has(customer_account, simulator):
    account = customer_account["aws_account"]
    ghost = Directory.objects.create(
        aws_account=account, region="us-east-1", directory_id="d-00000000ff", state="REGISTERED"
    )
    report = directory_sync(aws_account=account, region="us-east-1")
    assert report["missing"] == [ghost.directory_id]
    assert report["seen"] == 1 and report["lost_tag"] == []
    ghost.refresh_from_db()
    assert ghost.missing_from_aws_since is not None
    onboarded = Directory.objects.get(pk=customer_account["directory"].pk)
    assert onboarded.tags == {"PartnerManaged": "true"}
    assert onboarded.name == customer_account["demo"]["directory_name"]


def test_the_command_lists_and_registers(fresh_customer, stack_factory, simulator, capsys):
    demo = fresh_customer["demo"]
    account_id = demo["account_id"]
    call_command("directories", "--account", account_id, "list")
    out = capsys.readouterr().out
    assert f"{demo['directory_id']}  not registered" in out
    assert ",".join(demo["subnet_ids"]) in out
    assert "Register with tenancy SHARED" in out

    stack_factory().start()
    call_command(
        "directories", "--account", account_id, "register", "--directory", demo["directory_id"], "--wait"
    )
    out = capsys.readouterr().out
    assert "SUCCEEDED" in out
    assert Directory.objects.get(directory_id=demo["directory_id"]).state == "REGISTERED"
    assert len(simulator.calls("RegisterWorkspaceDirectory")) == 1


def test_admin_register_form_lists_candidates_and_starts_a_job(fresh_customer, simulator, staff_client):
    client = staff_client
    demo = fresh_customer["demo"]
    account = fresh_customer["aws_account"]
    url = reverse("admin:tenants_directory_register")
    page = client.get(url, {"aws_account": account.pk, "region": "us-east-1"})
    body = page.content.decode()
    assert page.status_code == 200
    assert demo["directory_id"] in body and demo["subnet_ids"][0] in body
    assert "SHARED" in body
    response = client.post(
        url,
        {
            "aws_account": account.pk,
            "region": "us-east-1",
            "directory_id": demo["directory_id"],
            "subnet_ids": "subnet-1",
            "tenancy": "SHARED",
        },
    )
    assert response.status_code == 200
    assert "Not subnet ids: subnet-1" in response.content.decode()
    response = client.post(
        url,
        {
            "aws_account": account.pk,
            "region": "us-east-1",
            "directory_id": demo["directory_id"],
            "subnet_ids": ", ".join(demo["subnet_ids"]),
            "tenancy": "SHARED",
        },
    )
    assert response.status_code == 302
    job = account.customer.jobs.get()
    assert response["Location"] == reverse("admin:orchestration_job_change", args=[job.pk])
    assert job.params["subnet_ids"] == demo["subnet_ids"]


def test_admin_actions_set_the_security_group_switch_maintenance_and_refresh(
    customer_account, simulator, staff_client
):
    demo = customer_account["demo"]
    directory = customer_account["directory"]
    group = admin_client(simulator, demo, "ec2").create_security_group(
        GroupName="rdp", Description="RDP", VpcId=demo["vpc_id"]
    )["GroupId"]
    changelist = reverse("admin:tenants_directory_changelist")
    selected = {"_selected_action": [directory.pk]}

    page = staff_client.post(changelist, {"action": "set_security_group", **selected})
    assert page.status_code == 200 and "Set a custom security group" in page.content.decode()
    page = staff_client.post(
        changelist,
        {"action": "set_security_group", **selected, "confirmed": "yes", "security_group_id": "sg-1"},
    )
    assert page.status_code == 302
    assert simulator.requests("ModifyWorkspaceCreationProperties") == []
    staff_client.post(
        changelist,
        {"action": "set_security_group", **selected, "confirmed": "yes", "security_group_id": group},
    )
    staff_client.post(changelist, {"action": "maintenance_off", **selected})
    Directory.objects.filter(pk=directory.pk).update(
        custom_security_group_id="", maintenance_mode_enabled=True
    )
    staff_client.post(changelist, {"action": "refresh_from_aws", **selected})

    directory.refresh_from_db()
    assert (directory.custom_security_group_id, directory.maintenance_mode_enabled) == (group, False)
    assert [
        r["WorkspaceCreationProperties"] for r in simulator.requests("ModifyWorkspaceCreationProperties")
    ] == [
        {"CustomSecurityGroupId": group},
        {"EnableMaintenanceMode": False},
    ]
    assert list(AuditEvent.objects.order_by("id").values_list("action", "outcome", "actor_label")) == [
        ("ModifyWorkspaceCreationProperties", "REFUSED", "staff"),
        ("ModifyWorkspaceCreationProperties", "SUCCEEDED", "staff"),
        ("ModifyWorkspaceCreationProperties", "SUCCEEDED", "staff"),
    ]

    page = staff_client.post(changelist, {"action": "deregister", **selected})
    assert "Deregister directories" in page.content.decode()
