"""The desktop commands ask before acting on more than one desktop (unless --yes) and, with --wait, exit
non-zero when the job they followed ended partly or wholly failed."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from orchestration.choices import JobItemStatus
from orchestration.engine.jobs import job_refresh_status
from orchestration.management import command_helpers
from orchestration.models import Job, JobItem
from tests.factories import AwsAccountFactory, DesktopFactory, DirectoryFactory

pytestmark = pytest.mark.django_db
OURS = {"PartnerManaged": "true"}


class Terminal(io.StringIO):
    """Typed answers, read as from a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def directory_of_three():
    account = AwsAccountFactory()
    directory = DirectoryFactory(aws_account=account)
    desktops = [DesktopFactory(aws_account=account, directory=directory, tags=OURS) for _ in range(3)]
    return account, directory, desktops


def _stop_directory(account, directory, **options):
    call_command(
        "desktops_action", "stop", account=account.account_id, directory=directory.directory_id, **options
    )


def test_stopping_a_directory_without_a_terminal_or_yes_sends_nothing(directory_of_three):
    account, directory, desktops = directory_of_three
    with pytest.raises(CommandError, match="(?s)This will stop 3 desktops .*add --yes to confirm") as refused:
        _stop_directory(account, directory, stdin=io.StringIO(""))
    assert all(d.workspace_id in str(refused.value) for d in desktops)
    assert Job.objects.count() == 0


def test_a_person_who_does_not_type_yes_sends_nothing(directory_of_three, capsys):
    account, directory, _ = directory_of_three
    with pytest.raises(CommandError, match="Not confirmed; nothing was sent"):
        _stop_directory(account, directory, stdin=Terminal("no\n"))
    assert "Type yes to go on" in capsys.readouterr().out
    assert Job.objects.count() == 0


def test_yes_typed_or_given_makes_the_job(directory_of_three, capsys):
    account, directory, _ = directory_of_three
    _stop_directory(account, directory, stdin=Terminal("yes\n"))
    _stop_directory(account, directory, yes=True)
    assert list(Job.objects.values_list("kind", "total_items")) == [("DESKTOP_STOP", 3)] * 2


def test_one_desktop_is_not_asked_about(directory_of_three):
    account, _, desktops = directory_of_three
    call_command(
        "desktops_action", "stop", account=account.account_id, workspace_ids=desktops[0].workspace_id,
        stdin=io.StringIO(""),
    )  # fmt: skip
    assert Job.objects.get().total_items == 1


def test_adopting_several_asks_too(directory_of_three):
    account, _, _ = directory_of_three
    with pytest.raises(CommandError, match="(?s)This will adopt 2 WorkSpaces .*add --yes"):
        call_command(
            "desktops_adopt", account=account.account_id, workspace_ids="ws-aaaaaaaa1,ws-aaaaaaaa2",
            stdin=io.StringIO(""),
        )  # fmt: skip
    assert Job.objects.count() == 0


def _finish_with(outcomes: list[str]):
    """Stands in for the worker while --wait sleeps: the job's items end as given, then the engine derives
    the job's status from them as after any delivery."""

    def finish(_seconds: float) -> None:
        job = Job.objects.get()
        for item, outcome in zip(job.items.order_by("sequence"), outcomes, strict=True):
            if outcome == "ok":
                JobItem.objects.filter(pk=item.pk).update(
                    status=JobItemStatus.SUCCEEDED, finished_at=timezone.now()
                )
            else:
                JobItem.objects.filter(pk=item.pk).update(
                    status=JobItemStatus.FAILED,
                    error_code="InvalidResourceStateException",
                    finished_at=timezone.now(),
                )
        job_refresh_status(job_id=job.pk)

    return finish


@pytest.mark.parametrize(
    ("outcomes", "status", "said"),
    [
        (["ok", "failed", "ok"], "PARTIAL", "Partially succeeded: 1 of 3 failed"),
        (["failed", "failed", "failed"], "FAILED", "Failed: 3 of 3 failed"),
    ],
)
def test_wait_exits_non_zero_when_the_job_ends_partly_or_wholly_failed(
    directory_of_three, monkeypatch, outcomes, status, said
):
    account, directory, _ = directory_of_three
    monkeypatch.setattr(command_helpers.time, "sleep", _finish_with(outcomes))
    with pytest.raises(CommandError, match=f"Job \\d+ ended {said}"):
        _stop_directory(account, directory, yes=True, wait=True, poll_seconds=0)
    assert Job.objects.get().status == status


def test_wait_exits_zero_when_every_desktop_succeeded(directory_of_three, monkeypatch, capsys):
    account, directory, _ = directory_of_three
    monkeypatch.setattr(command_helpers.time, "sleep", _finish_with(["ok", "ok", "ok"]))
    _stop_directory(account, directory, yes=True, wait=True, poll_seconds=0)
    assert Job.objects.get().status == "SUCCEEDED"
    assert "SUCCEEDED: 3 done, 0 failed, 0 in progress of 3" in capsys.readouterr().out
