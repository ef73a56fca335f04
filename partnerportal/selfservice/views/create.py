"""New desktops: for listed users, N user-decoupled ones, or a CSV of user names.

The whole list is checked before anything is made (orchestration.names, then who already has a desktop
in the directory); the preview shows what will be created and what is refused and why, and only the
confirmed, accepted names go to `desktop_create_bulk`, which checks everything again.
"""

from django.contrib import messages
from django.db.models.functions import Lower
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from orchestration.actors import Actor
from orchestration.names import NameCheck, accepted_names, user_names_check
from orchestration.services.desktops import DesktopCreateInvalid, DesktopCreateRequest, desktop_create_bulk
from partnerportal.selfservice.access import PortalRequest, portal_view
from partnerportal.selfservice.forms import DesktopCreateForm
from partnerportal.selfservice.views.common import page
from tenants.access import Capability
from tenants.models import DESKTOP_IS_LIVE, Desktop, Directory

CSV_HEADERS = {"user_name", "username", "user", "user name"}


def name_checks(text: str, directory: Directory) -> list[NameCheck]:
    """Each line's verdict, with users who already have a live desktop in the directory refused too."""
    lines = text.splitlines()
    if lines and lines[0].strip().lower() in CSV_HEADERS:
        lines[0] = ""  # a header, not a user; blank lines are skipped and keep the numbering
    checks = user_names_check(lines)
    wanted = {check.name.lower() for check in checks if check.accepted}
    taken = set(
        Desktop.objects.filter(DESKTOP_IS_LIVE, directory=directory)
        .annotate(lowered=Lower("user_name"))
        .filter(lowered__in=wanted)
        .values_list("lowered", flat=True)
    )
    return [
        NameCheck(c.line_number, c.text, c.name, "already has a desktop in this directory")
        if c.accepted and c.name.lower() in taken
        else c
        for c in checks
    ]


@portal_view(Capability.PROVISION)
def desktop_create(request: PortalRequest) -> HttpResponse:
    """GET: the form. POST: the preview; POST with confirmed=yes: the job, for the accepted names only."""
    form = DesktopCreateForm(request.POST or None, request.FILES or None, principal=request.principal)
    if request.method != "POST" or not form.is_valid():
        return page(
            request, "selfservice/desktop_create.html", {"form": form}, status=400 if form.errors else 200
        )
    data = form.cleaned_data
    checks = [] if data.get("count") else name_checks(data["users_text"], data["directory"])
    names = accepted_names(checks)
    context = {
        "form": form,
        "directory": data["directory"],
        "bundle": data["bundle"],
        "running_mode": data["running_mode"],
        "count": data.get("count") or 0,
        "checks": checks,
        "accepted": names,
        "refused": [c for c in checks if not c.accepted],
        "accepted_text": "\n".join(names),
        "errors": [],
    }
    if not data.get("count") and not names:
        context["errors"] = ["No user name in the list can be used, so nothing can be created."]
    if request.POST.get("confirmed") != "yes" or context["errors"]:
        return page(request, "selfservice/desktop_create_preview.html", context)
    directory = data["directory"]
    try:
        job = desktop_create_bulk(
            actor=Actor.for_user(request.user),
            request=DesktopCreateRequest(
                customer=request.customer,
                aws_account=directory.aws_account,
                directory=directory,
                bundle=data["bundle"],
                running_mode=data["running_mode"],
                user_names=names,
                count=data.get("count") or 0,
            ),
        )
    except DesktopCreateInvalid as invalid:
        context["errors"] = [f"{field}: {m}" for field, ms in invalid.errors.items() for m in ms]
        return page(request, "selfservice/desktop_create_preview.html", context, status=400)
    messages.success(request, f"Job {job.pk}: creating {job.total_items} desktops.")
    return redirect(reverse("selfservice:job", args=[job.pk]))
