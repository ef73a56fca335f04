"""Reading user names as people give them: one line is one name, and what AD cannot hold is refused."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from orchestration.management.command_helpers import names_given, user_names_given
from orchestration.names import (
    COMMA_IN_LINE,
    COMMA_SPACE_IN_OPTION,
    accepted_names,
    parse_user_names,
    refusal_lines,
    user_name_problem,
    user_names_check,
    user_names_option_check,
)


def test_a_file_line_with_a_comma_is_refused_not_split():
    checks = user_names_check(["alice", "Doe, Jane", "bob"])
    assert accepted_names(checks) == ["alice", "bob"]
    refused = [c for c in checks if not c.accepted]
    assert len(refused) == 1
    assert refused[0].line_number == 2
    assert refused[0].text == "Doe, Jane"
    assert refused[0].refused_reason == COMMA_IN_LINE


def test_a_comma_without_space_in_a_file_line_is_refused_too():
    (check,) = user_names_check(["a,b"])
    assert check.refused_reason == COMMA_IN_LINE


def test_blank_lines_and_line_endings_are_not_names():
    checks = user_names_check(["alice\r\n", "", "   ", "bob\n"])
    assert [(c.line_number, c.name) for c in checks] == [(1, "alice"), (4, "bob")]
    assert all(c.accepted for c in checks)


@pytest.mark.parametrize("char", list('"/\\[]:;|=+*?<>'))
def test_characters_a_sam_account_name_cannot_hold_are_refused(char):
    assert f"cannot hold {char}" in user_name_problem(f"ab{char}cd")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (" alice", "begin or end with a space"),
        ("alice ", "begin or end with a space"),
        ("a" * 21, "longer than 20 characters"),
        ("", "empty"),
        ("alice.", "end with a period"),
        ("al\tice", "control characters"),
        ("[UNDEFINED]", "cannot hold"),
    ],
)
def test_other_names_a_directory_cannot_hold(name, reason):
    assert reason in user_name_problem(name)


def test_names_a_directory_can_hold():
    for name in ("alice", "a" * 20, "j.smith", "jane-doe_2", "Zoë", "first last"):
        assert user_name_problem(name) == "", name


def test_duplicates_are_refused_whatever_the_letter_case():
    checks = user_names_check(["alice", "bob", "ALICE", "Alice"])
    assert accepted_names(checks) == ["alice", "bob"]
    assert [c.refused_reason for c in checks if not c.accepted] == [
        "listed already on line 1 (user names ignore letter case)"
    ] * 2


def test_the_option_splits_on_commas():
    checks = user_names_option_check("alice,bob,carol")
    assert accepted_names(checks) == ["alice", "bob", "carol"]


def test_the_option_refuses_a_comma_followed_by_a_space_as_ambiguous():
    (check,) = user_names_option_check("Smith, John")
    assert check.refused_reason == COMMA_SPACE_IN_OPTION
    assert accepted_names([check]) == []


def test_the_option_refuses_empty_parts():
    checks = user_names_option_check("alice,,bob")
    assert refusal_lines(checks, where="name") == ["name 2: '': empty: no user name"]


def test_the_command_helper_refuses_a_file_with_a_comma_line(tmp_path):
    path = tmp_path / "users.txt"
    path.write_text("alice\nDoe, Jane\nbob\n")
    with pytest.raises(CommandError) as raised:
        user_names_given(None, path)
    assert "line 2: 'Doe, Jane': one line is one name" in str(raised.value)
    assert "Nothing was created" in str(raised.value)


def test_the_command_helper_reads_a_clean_file_and_the_option(tmp_path):
    path = tmp_path / "users.txt"
    path.write_text("alice\nbob\n\n")
    assert user_names_given(None, path) == ["alice", "bob"]
    assert user_names_given("carol,dave", None) == ["carol", "dave"]
    with pytest.raises(CommandError, match="ambiguous"):
        user_names_given("Smith, John", None)


def test_workspace_id_lists_still_split_on_commas_and_lines(tmp_path):
    path = tmp_path / "ids.txt"
    path.write_text("ws-1\nws-2,ws-3\n")
    assert names_given(None, path) == ["ws-1", "ws-2", "ws-3"]


def test_the_text_box_keeps_a_display_name_whole_so_the_service_refuses_it():
    assert parse_user_names("alice,bob\nDoe, Jane\n carol \n") == ["alice", "bob", "Doe, Jane", "carol"]


@pytest.mark.django_db
def test_desktops_create_with_a_comma_line_in_its_file_makes_nothing(tmp_path):
    from orchestration.models import Job
    from tenants.models import Desktop
    from tests.factories import AwsAccountFactory, BundleFactory, DirectoryFactory

    account = AwsAccountFactory()
    directory, bundle = DirectoryFactory(aws_account=account), BundleFactory(aws_account=account)
    path = tmp_path / "users.txt"
    path.write_text("alice\nDoe, Jane\n")
    with pytest.raises(CommandError, match="line 2: 'Doe, Jane'"):
        call_command(
            "desktops_create",
            *("--account", account.account_id, "--directory", directory.directory_id),
            *("--bundle", bundle.bundle_id, "--users-file", str(path)),
        )
    assert (Desktop.objects.count(), Job.objects.count()) == (0, 0)
