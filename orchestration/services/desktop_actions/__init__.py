"""Actions on existing desktops, for one desktop or thousands: each request is one job, one item a desktop.

Start, stop, reboot, rebuild, restore, modify properties, admin maintenance on/off, migrate to another
bundle, terminate. The package is four pieces along the way a request travels:

- `actions`: the action table (what each action is called, where AWS accepts it, what it ends in);
- `requests`: the request and every desktop judged before any AWS call (S1, F11, the tag guard S5),
  then one job with an item per desktop;
- `runner` (with `adoption`): the deliveries, ceil(N/25) Start/Stop/Reboot/Terminate calls per account
  and region, one call per desktop for the others, looking before calling again after a lost answer;
- `polling`: whether each desktop reached the action's target state, per AWS's report.
"""

from orchestration.services.desktop_actions.actions import (
    ACTION_WAIT_LIMIT,
    ACTIONS,
    NOT_ELIGIBLE,
    TAG_GUARD_REFUSED,
    ActionSpec,
    DesktopAction,
    DesktopActionInvalid,
)
from orchestration.services.desktop_actions.polling import DONE, FAILED, WAIT, poll_verdict
from orchestration.services.desktop_actions.requests import (
    desktop_action_bulk,
    desktop_action_summary,
    desktop_action_targets,
    desktop_snapshots,
)
from orchestration.services.desktop_actions.runner import DesktopActionRunner

__all__ = [
    "ACTIONS",
    "ACTION_WAIT_LIMIT",
    "DONE",
    "FAILED",
    "NOT_ELIGIBLE",
    "TAG_GUARD_REFUSED",
    "WAIT",
    "ActionSpec",
    "DesktopAction",
    "DesktopActionInvalid",
    "DesktopActionRunner",
    "desktop_action_bulk",
    "desktop_action_summary",
    "desktop_action_targets",
    "desktop_snapshots",
    "poll_verdict",
]
