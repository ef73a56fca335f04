"""The customer pages, under /portal/."""

from django.urls import path

from partnerportal.selfservice.views import (
    adoption,
    audit,
    auth,
    create,
    desktops,
    home,
    jobs,
    members,
    policies,
    pools,
    tokens,
    usage,
    webhooks,
)

app_name = "selfservice"

urlpatterns = [
    path("login/", auth.PortalLoginView.as_view(), name="login"),
    path("logout/", auth.PortalLogoutView.as_view(), name="logout"),
    path("", home.home, name="home"),
    path("desktops/", desktops.desktop_index, name="desktops"),
    path("desktops/new/", create.desktop_create, name="desktop_create"),
    path("desktops/action/", desktops.desktop_action, name="desktop_action"),
    path("desktops/<int:pk>/", desktops.desktop_detail, name="desktop"),
    path("desktops/<int:pk>/state/", desktops.desktop_state, name="desktop_state"),
    path("jobs/", jobs.job_index, name="jobs"),
    path("jobs/<int:pk>/", jobs.job_detail, name="job"),
    path("jobs/<int:pk>/progress/", jobs.job_progress_part, name="job_progress"),
    path("usage/", usage.usage, name="usage"),
    path("usage.csv", usage.usage_csv, name="usage_csv"),
    path("desktops/<int:pk>/power-policy/", policies.desktop_policy, name="desktop_policy"),
    path("power-policies/", policies.policy_index, name="policies"),
    path("power-policies/new/", policies.policy_new, name="policy_new"),
    path("power-policies/<int:pk>/", policies.policy_edit, name="policy"),
    path("pools/", pools.pool_index, name="pools"),
    path("pools/<int:pk>/", pools.pool_detail, name="pool"),
    path("api-tokens/", tokens.token_index, name="tokens"),
    path("api-tokens/<int:pk>/revoke/", tokens.token_revoke, name="token_revoke"),
    path("webhooks/", webhooks.webhook_index, name="webhooks"),
    path("webhooks/<int:pk>/toggle/", webhooks.webhook_toggle, name="webhook_toggle"),
    path("webhooks/<int:pk>/remove/", webhooks.webhook_remove, name="webhook_remove"),
    path("webhooks/deliveries/<int:pk>/resend/", webhooks.webhook_resend, name="webhook_resend"),
    path("members/", members.member_index, name="members"),
    path("members/<int:pk>/role/", members.member_role, name="member_role"),
    path("members/<int:pk>/remove/", members.member_delete, name="member_remove"),
    path("set-password/<uidb64>/<token>/", members.SetPasswordView.as_view(), name="set_password"),
    path("audit/", audit.audit_index, name="audit"),
    path("audit.csv", audit.audit_csv, name="audit_csv"),
    path("existing/", adoption.existing_index, name="existing"),
    path("existing/<int:pk>/stack.yaml", adoption.existing_stack_template, name="existing_stack"),
    path("existing/adopt/", adoption.existing_adopt, name="existing_adopt"),
    path("existing/release/", adoption.existing_release, name="existing_release"),
]
