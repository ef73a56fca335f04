"""Usage: hours AVAILABLE per desktop per day in a month, as a chart, a table and a CSV download."""

from datetime import UTC, datetime

from django.http import HttpResponse
from django.views.decorators.http import require_GET

from partnerportal.selfservice.access import PortalRequest, portal_view
from partnerportal.selfservice.usage import this_month, usage_table
from partnerportal.selfservice.views.common import page
from tenants.selectors import month_bounds, usage_available_hours, usage_write_csv

TABLE_DESKTOPS = 200


def _month(request: PortalRequest) -> str:
    month = request.GET.get("month", "")
    try:
        month_bounds(month)
    except ValueError:
        return this_month(datetime.now(UTC))
    return month


@require_GET
@portal_view()
def usage(request: PortalRequest) -> HttpResponse:
    month = _month(request)
    start, end = month_bounds(month)
    rows = usage_available_hours(customer=request.customer, start=start, end=end)
    table = usage_table(rows, start, end)
    chart = {
        "labels": [day.strftime("%d") for day in table.days],
        "hours": [float(hours) for hours in table.day_totals],
        "title": f"Hours AVAILABLE per day, {month}",
    }
    return page(
        request,
        "selfservice/usage.html",
        {
            "month": month,
            "table": table,
            "shown": table.desktops[:TABLE_DESKTOPS],
            "more": max(0, len(table.desktops) - TABLE_DESKTOPS),
            "chart": chart,
        },
    )


@require_GET
@portal_view()
def usage_csv(request: PortalRequest) -> HttpResponse:
    month = _month(request)
    start, end = month_bounds(month)
    rows = usage_available_hours(customer=request.customer, start=start, end=end)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="usage-{request.customer.slug}-{month}.csv"'
    usage_write_csv(rows, customer=request.customer, out=response)
    return response
