"""A broker that is down when a job is asked for: the job is recorded, the asker gets it, the sweeper
sends its items later (no error page, nothing lost)."""

from unittest import mock

import pytest
from kombu.exceptions import OperationalError

from orchestration.actors import Actor
from orchestration.models import JobItem
from orchestration.services.desktops import DesktopCreateRequest, desktop_create_bulk
from partnerportal.celery import app as celery_app
from tests.factories import BundleFactory, DirectoryFactory

pytestmark = pytest.mark.django_db


def test_a_job_asked_for_while_the_broker_is_down_is_kept_for_the_sweeper(django_capture_on_commit_callbacks):
    directory = DirectoryFactory()
    bundle = BundleFactory(aws_account=directory.aws_account)
    refused = mock.patch.object(celery_app, "send_task", side_effect=OperationalError("Connection refused"))
    with refused as send, django_capture_on_commit_callbacks(execute=True):
        job = desktop_create_bulk(
            actor=Actor.system("test"),
            request=DesktopCreateRequest(
                customer=directory.aws_account.customer,
                aws_account=directory.aws_account,
                directory=directory,
                bundle=bundle,
                count=3,
            ),
        )
    assert send.call_count == 1  # it tried
    assert job.pk and job.status == "PENDING"
    assert JobItem.objects.filter(job=job, status="PENDING").count() == 3
