"""Lists of names as people type them: a form's text box, a command's option or a file of one a line.

Here, not in a face, because the management commands (thin CLI interfaces onto services that live in
`orchestration/management/`) read them the same way as the staff console and the customer pages do.

A directory user name is an Active Directory sAMAccountName: at most 20 characters, none of
`" / \\ [ ] : ; | = , + * ? < >`, no leading or trailing space, not ending in a period. Directory user
names are case-insensitive, so `Alice` and `alice` are the same user. In a file one line is one name:
`Doe, Jane` is a display name, not the users `Doe` and `Jane`, and is refused rather than split.
"""

from collections.abc import Iterable
from dataclasses import dataclass

SAM_ACCOUNT_NAME_MAX_LENGTH = 20
SAM_ACCOUNT_NAME_FORBIDDEN = '"/\\[]:;|=,+*?<>'
COMMA_IN_LINE = "one line is one name; a comma cannot be part of a directory user name"
COMMA_SPACE_IN_OPTION = (
    "ambiguous: a comma followed by a space reads as a display name ('Smith, John'), not a list; "
    "separate user names with commas only (a,b) or give a file of one name a line"
)


@dataclass(frozen=True)
class NameCheck:
    """One entry as given (a line of a file, or one comma-separated part of an option) and its verdict."""

    line_number: int  # 1-based line of the file, or position in the option's list
    text: str  # as given, without the line ending
    name: str  # the user name it stands for ("" when it cannot stand for one)
    refused_reason: str = ""  # why it is refused, in words; "" when it is accepted

    @property
    def accepted(self) -> bool:
        return not self.refused_reason


def user_name_problem(name: str) -> str:
    """Why a directory (AD) user name cannot be this, in words; "" when it can."""
    if not name.strip():
        return "empty: no user name"
    if name != name.strip():
        return "a directory user name cannot begin or end with a space"
    if "," in name:
        return COMMA_IN_LINE
    forbidden = sorted({char for char in name if char in SAM_ACCOUNT_NAME_FORBIDDEN})
    if forbidden:
        return f"a directory user name cannot hold {' '.join(forbidden)}"
    if any(ord(char) < 32 for char in name):
        return "a directory user name cannot hold control characters such as tabs"
    if len(name) > SAM_ACCOUNT_NAME_MAX_LENGTH:
        return f"longer than {SAM_ACCOUNT_NAME_MAX_LENGTH} characters, the most a directory user name holds"
    if name.endswith("."):
        return "a directory user name cannot end with a period"
    return ""


def _with_duplicates_refused(checks: list[NameCheck]) -> list[NameCheck]:
    """A name listed again (in any letter case) is refused on its second and later lines."""
    first_seen: dict[str, int] = {}
    result = []
    for check in checks:
        key = check.name.casefold()
        if check.accepted and key in first_seen:
            check = NameCheck(
                check.line_number,
                check.text,
                check.name,
                f"listed already on line {first_seen[key]} (user names ignore letter case)",
            )
        elif check.accepted:
            first_seen[key] = check.line_number
        result.append(check)
    return result


def user_names_check(lines: Iterable[str]) -> list[NameCheck]:
    """A file's lines, one name a line: each line's verdict. Blank lines are skipped, not reported."""
    checks = []
    for number, raw in enumerate(lines, start=1):
        text = raw.rstrip("\r\n")
        if not text.strip():
            continue
        problem = user_name_problem(text)
        checks.append(NameCheck(number, text, "" if problem == COMMA_IN_LINE else text, problem))
    return _with_duplicates_refused(checks)


def user_names_option_check(text: str) -> list[NameCheck]:
    """A comma-separated option (`--users a,b`): each part's verdict.

    A comma followed by a space refuses the whole option: `Smith, John` is a person, not two users.
    """
    if ", " in text or ",\t" in text:
        return [NameCheck(1, text, "", COMMA_SPACE_IN_OPTION)]
    parts = text.split(",")
    checks = [NameCheck(number, part, part, user_name_problem(part)) for number, part in enumerate(parts, 1)]
    return _with_duplicates_refused(checks)


def accepted_names(checks: Iterable[NameCheck]) -> list[str]:
    """The names of the accepted entries, in order."""
    return [check.name for check in checks if check.accepted]


def refusal_lines(checks: Iterable[NameCheck], *, where: str = "line") -> list[str]:
    """One line of text per refused entry: where it is, what it says, and why it is refused."""
    return [
        f"{where} {check.line_number}: {check.text!r}: {check.refused_reason}"
        for check in checks
        if not check.accepted
    ]


def parse_user_names(text: str) -> list[str]:
    """A text box's names, one a line or comma-separated; blank entries dropped, order kept.

    A line with a comma followed by a space is kept whole (a display name such as `Doe, Jane`), so the
    create service refuses it by name instead of making desktops for `Doe` and `Jane`.
    """
    names: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        parts = [stripped] if ", " in stripped else stripped.split(",")
        names.extend(part.strip() for part in parts if part.strip())
    return names


def parse_id_list(text: str) -> list[str]:
    """AWS ids (ws-..., d-...) one a line or comma-separated: ids never hold commas or spaces."""
    return [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]
