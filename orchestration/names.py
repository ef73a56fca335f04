"""Lists of names as people type them: a form's text box, a command's option or a file of one a line.

Here, not in a face, because the management commands (thin CLI interfaces onto services that live in
`orchestration/management/`) read them the same way as the staff console does.
"""


def parse_user_names(text: str) -> list[str]:
    """One name per line or comma-separated; blank entries dropped, order kept."""
    names = []
    for line in text.replace(",", "\n").splitlines():
        name = line.strip()
        if name:
            names.append(name)
    return names
