"""The onboarding wizard: a new customer (or an existing one) to its first desktops, one step a page.

Where it stands comes from the saved rows (partnerportal/staff/onboarding.py), so a person can leave at
any step and come back from the accounts list. Each step calls the service the rest of the console uses;
a refused step keeps what was typed and says what to fix. While a step's job runs the page follows it and
moves on by itself when the rows say the step is done.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone

from orchestration.actors import Actor
from orchestration.models import Job
from orchestration.onboarding.template import PARTNER_ROLE_NAME, cloudformation_create_stack_url
from orchestration.services.bundles import BundleCreateRequest, BundleInvalid, bundle_create
from orchestration.services.byol import ByolSetupInvalid, byol_cidr_ranges, byol_setup_start, byol_status_sync
from orchestration.services.desktops import DesktopCreateInvalid, desktop_create_bulk
from orchestration.services.directories import DirectoryInvalid, directory_candidates, directory_register
from orchestration.services.errors import AwsError
from orchestration.services.images import ImageInvalid, ami_list, image_import
from orchestration.services.onboarding import account_verify
from partnerportal.staff.forms.accounts import ByolSetupForm
from partnerportal.staff.forms.desktops import DesktopCreateForm
from partnerportal.staff.forms.onboarding import (
    AccountStepForm,
    BundleStepForm,
    CustomerStepForm,
    DirectoryStepForm,
    ImageStepForm,
    RoleStepForm,
)
from partnerportal.staff.onboarding import (
    STEP_TITLES,
    Step,
    WizardPosition,
    account_step,
    with_onboarding_progress,
    wizard_position,
)
from tenants.access import CAPABILITY_PERMISSIONS, Capability
from tenants.models import AwsAccount, Customer

from .base import add_service_errors, job_message, staff_scope, staff_scope_choices

DEFAULT_CIDR_CONSTRAINT = "10.0.0.0/8"
TEMPLATE = "admin/tenants/awsaccount/onboard.html"
# What each step needs beyond seeing accounts; a user without it sees the step and is told to ask.
STEP_PERMISSIONS: dict[Step, str] = {
    Step.ROLE: "tenants.change_awsaccount",
    Step.VERIFY: "tenants.change_awsaccount",
    Step.BYOL: "tenants.change_awsaccount",
    Step.DIRECTORY: "tenants.change_directory",
    Step.IMAGE: "tenants.change_image",
    Step.BUNDLE: "tenants.change_bundle",
    Step.DESKTOPS: CAPABILITY_PERMISSIONS[Capability.PROVISION],
}


def wizard_url(account: AwsAccount, step: str = "") -> str:
    url = reverse("admin:tenants_awsaccount_onboard", args=[account.pk])
    return f"{url}?step={step}" if step else url


def byol_setup_submit(request: HttpRequest, account: AwsAccount, form: ByolSetupForm) -> Job | None:
    """A posted BYOL form, confirmed: the started job, or None with what the service refused put on the
    form (the account page and the wizard's BYOL step both take it this way)."""
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        return byol_setup_start(
            actor=Actor.for_user(request.user),
            aws_account=account,
            cidr=form.cleaned_data["cidr"],
            confirmation=form.cleaned_data["confirmation"],
            offered_cidrs=request.POST.getlist("offered"),
        )
    except ByolSetupInvalid as invalid:
        add_service_errors(form, invalid)
        return None


class OnboardingWizardViews:
    """Mixed into the AWS account admin: its URLs live under /admin/tenants/awsaccount/."""

    def onboarding_urls(self) -> list:
        site = self.admin_site  # type: ignore[attr-defined]
        return [
            path(
                "onboard/", site.admin_view(self.onboard_start_view), name="tenants_awsaccount_onboard_start"
            ),
            path(
                "onboard/customer/<int:customer_id>/",
                site.admin_view(self.onboard_account_view),
                name="tenants_awsaccount_onboard_account",
            ),
            path("<int:pk>/onboard/", site.admin_view(self.onboard_view), name="tenants_awsaccount_onboard"),
            path(
                "<int:pk>/onboard/moved/",
                site.admin_view(self.onboard_moved_view),
                name="tenants_awsaccount_onboard_moved",
            ),
        ]

    def _page(self, request: HttpRequest, title: str, **context) -> HttpResponse:
        return self.render_page(request, TEMPLATE, title, **context)  # type: ignore[attr-defined]

    # --- before there is an account: the customer, then the account id ----------------------------------
    def onboard_start_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):  # type: ignore[attr-defined]
            return HttpResponse(status=403)
        customers = staff_scope(request, Customer.objects.filter(is_active=True))
        form = CustomerStepForm(request.POST or None, customers=customers)
        form = staff_scope_choices(request, form)
        if request.method == "POST" and form.is_valid():
            if form.cleaned_data["existing"] is None and not request.user.has_perm("tenants.add_customer"):
                form.add_error("new_name", "You may not add customers: choose an existing one.")
            else:
                customer = form.customer()
                return HttpResponseRedirect(
                    reverse("admin:tenants_awsaccount_onboard_account", args=[customer.pk])
                )
        accounts = with_onboarding_progress(AwsAccount.objects.select_related("customer"))
        accounts_awaiting = staff_scope(request, accounts).order_by("-created_at")[:20]
        resumable = [(account, STEP_TITLES[account_step(account)]) for account in accounts_awaiting]
        return self._page(
            request,
            "Onboard a customer",
            step=Step.CUSTOMER,
            steps=_steps_before_account(Step.CUSTOMER),
            form=form,
            resumable=[(a, title) for a, title in resumable if title != STEP_TITLES[Step.DONE]],
        )

    def onboard_account_view(self, request: HttpRequest, customer_id: int) -> HttpResponse:
        if not self.has_add_permission(request):  # type: ignore[attr-defined]
            return HttpResponse(status=403)
        customer = get_object_or_404(
            staff_scope(request, Customer.objects.filter(is_active=True)), pk=customer_id
        )
        form = AccountStepForm(request.POST or None, instance=AwsAccount(customer=customer))
        if request.method == "POST" and form.is_valid():
            # Saved now, awaiting its role: the External ID exists from here on, for the template.
            account = form.save()
            return HttpResponseRedirect(wizard_url(account, Step.TEMPLATE))
        return self._page(
            request,
            f"Onboard {customer.name}: AWS account",
            step=Step.ACCOUNT,
            steps=_steps_before_account(Step.ACCOUNT),
            form=form,
            customer=customer,
        )

    # --- an account exists: every later step -------------------------------------------------------------
    def _account(self, request: HttpRequest, pk: int) -> AwsAccount:
        queryset = self.get_queryset(request).select_related("customer")  # type: ignore[attr-defined]
        return get_object_or_404(queryset, pk=pk)

    def onboard_moved_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Polled while a step's job runs: nothing (204) until the rows say the step is done, then htmx is
        sent to the wizard, which shows the next step."""
        if not self.has_view_permission(request):  # type: ignore[attr-defined]
            return HttpResponse(status=403)
        account = self._account(request, pk)
        position = wizard_position(account)
        if position.current == request.GET.get("from") and position.job_running:
            return HttpResponse(status=204)
        response = HttpResponse(status=204)
        response["HX-Redirect"] = wizard_url(account)
        return response

    def onboard_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):  # type: ignore[attr-defined]
            return HttpResponse(status=403)
        account = self._account(request, pk)
        position = wizard_position(account, request.GET.get("step", ""))
        allowed = request.user.has_perm(STEP_PERMISSIONS.get(position.shown, "tenants.view_awsaccount"))
        if request.method == "POST":
            if request.POST.get("step") != position.current:
                # A second tab, or a back button: the rows have moved on; show where they are.
                self.message_user(  # type: ignore[attr-defined]
                    request, "That step is done already; here is where this account is now.", messages.INFO
                )
                return HttpResponseRedirect(wizard_url(account))
            if not allowed:
                return HttpResponse(status=403)
        handler = getattr(self, f"_step_{position.shown.value}", None)
        context = handler(request, account, position) if handler else {}
        if isinstance(context, HttpResponse):
            return context
        return self._page(
            request,
            f"Onboard {account.customer.name}: {STEP_TITLES[position.shown]}",
            step=position.shown,
            steps=position.steps(),
            position=position,
            account=account,
            allowed=allowed,
            **context,
        )

    def _done(self, account: AwsAccount) -> HttpResponse:
        return HttpResponseRedirect(wizard_url(account))

    def _step_template(self, request: HttpRequest, account: AwsAccount, position: WizardPosition) -> dict:
        return _template_context(account)

    def _step_role(self, request: HttpRequest, account: AwsAccount, position: WizardPosition):
        form = RoleStepForm(request.POST or None, instance=account)
        if request.method == "POST" and form.is_valid():
            form.save()
            return self._done(account)
        return {"form": form, **_template_context(account)}

    def _step_verify(self, request: HttpRequest, account: AwsAccount, position: WizardPosition):
        form = RoleStepForm(request.POST if "role_arn" in request.POST else None, instance=account)
        if request.method == "POST":
            if "role_arn" in request.POST:
                if form.is_valid():
                    form.save()
                    return self._done(account)
            else:
                result = account_verify(actor=Actor.for_user(request.user), aws_account=account)
                if result.ok:
                    self.message_user(request, result.message, messages.SUCCESS)  # type: ignore[attr-defined]
                    return self._done(account)
        return {"form": form, **_template_context(account)}

    def _step_byol(self, request: HttpRequest, account: AwsAccount, position: WizardPosition):
        if position.job_running:
            return {}
        if request.method == "POST" and "skip" in request.POST:
            AwsAccount.objects.filter(pk=account.pk).update(byol_skipped_at=timezone.now())
            return self._done(account)
        form = ByolSetupForm(request.POST or None)
        job = byol_setup_submit(request, account, form)
        if job is not None:
            self.message_user(  # type: ignore[attr-defined]
                request,
                job_message(job, "is enabling BYOL with management CIDR {}.", form.cleaned_data["cidr"]),
            )
            return self._done(account)
        context: dict = {"form": form, "problem": "", "cidrs": [], "byol_status": None}
        try:
            context["byol_status"] = status = byol_status_sync(aws_account=account)
            if status.blocking is None:
                constraint = request.GET.get("constraint", DEFAULT_CIDR_CONSTRAINT)
                context["cidrs"] = byol_cidr_ranges(aws_account=account, constraint=constraint).ranges[:8]
        except ByolSetupInvalid as invalid:
            context["problem"] = " ".join(p for problems in invalid.errors.values() for p in problems)
        except AwsError as error:
            context["problem"] = f"AWS answered {error.code}: {error.message}"
        return context

    def _step_directory(self, request: HttpRequest, account: AwsAccount, position: WizardPosition):
        if position.job_running:
            return {}
        region = account.default_region
        candidates, problem = [], ""
        try:
            candidates = directory_candidates(aws_account=account, region=region)
        except AwsError as error:
            problem = f"Could not list the directories in {region}: {error}"
        form = DirectoryStepForm(request.POST or None, candidates=candidates)
        if request.method == "POST" and form.is_valid():
            try:
                job = directory_register(
                    actor=Actor.for_user(request.user),
                    aws_account=account,
                    region=region,
                    directory_id=form.cleaned_data["directory_id"],
                )
            except DirectoryInvalid as invalid:
                add_service_errors(form, invalid)
            else:
                self.message_user(  # type: ignore[attr-defined]
                    request, job_message(job, "is registering {}.", form.cleaned_data["directory_id"])
                )
                return self._done(account)
        return {"form": form, "problem": problem, "region": region}

    def _step_image(self, request: HttpRequest, account: AwsAccount, position: WizardPosition):
        if position.job_running:
            return {}
        region = account.default_region
        amis, problem = [], ""
        try:
            amis = ami_list(aws_account=account, region=region)
        except AwsError as error:
            problem = f"Could not list the AMIs in {region}: {error}"
        form = ImageStepForm(request.POST or None, initial={"name": f"{account.customer.slug}-golden"})
        if request.method == "POST" and form.is_valid():
            try:
                job = image_import(
                    actor=Actor.for_user(request.user),
                    aws_account=account,
                    region=region,
                    **form.cleaned_data,
                )
            except ImageInvalid as invalid:
                add_service_errors(form, invalid)
            else:
                self.message_user(  # type: ignore[attr-defined]
                    request, job_message(job, "is importing {}.", form.cleaned_data["ami_id"])
                )
                return self._done(account)
        return {"form": form, "problem": problem, "amis": amis, "chosen_ami": form["ami_id"].value()}

    def _step_bundle(self, request: HttpRequest, account: AwsAccount, position: WizardPosition):
        initial = {
            "name": f"{account.customer.slug}-standard",
            "description": f"{account.customer.name} desktops",
        }
        form = BundleStepForm(request.POST or None, aws_account=account, initial=initial)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                bundle_create(
                    actor=Actor.for_user(request.user),
                    request=BundleCreateRequest(aws_account=account, region=data["image"].region, **data),
                )
            except BundleInvalid as invalid:
                add_service_errors(form, invalid)
            except AwsError as error:
                form.add_error(None, f"AWS refused the bundle: {error}")
            else:
                return self._done(account)
        return {"form": form}

    def _step_desktops(self, request: HttpRequest, account: AwsAccount, position: WizardPosition):
        # The create-desktops form itself, held to this customer and account (shown, not chosen).
        fixed = {"customer": account.customer_id, "aws_account": account.pk}
        customers = Customer.objects.filter(pk=account.customer_id)
        if request.method == "POST":
            form = DesktopCreateForm({**request.POST.dict(), **fixed}, customers=customers)
        else:
            form = DesktopCreateForm(initial=fixed, customers=customers)
        form = staff_scope_choices(request, form)
        if request.method == "POST" and form.is_valid():
            try:
                job = desktop_create_bulk(actor=Actor.for_user(request.user), request=form.to_request())
            except DesktopCreateInvalid as invalid:
                add_service_errors(form, invalid)
            else:
                self.message_user(  # type: ignore[attr-defined]
                    request, job_message(job, "is creating {} desktops.", job.total_items)
                )
                return self._done(account)
        shown = [form[name] for name in ("directory", "bundle", "count", "user_names", "running_mode")]
        return {"form": form, "form_fields": shown}


def _steps_before_account(at: Step) -> list[tuple[Step, str, str]]:
    order = list(STEP_TITLES)
    return [
        (step, title, "done" if order.index(step) < order.index(at) else "current" if step == at else "todo")
        for step, title in STEP_TITLES.items()
        if step is not Step.DONE
    ]


def _template_context(account: AwsAccount) -> dict:
    return {
        "console_url": cloudformation_create_stack_url(account.default_region),
        "role_name": PARTNER_ROLE_NAME,
    }
