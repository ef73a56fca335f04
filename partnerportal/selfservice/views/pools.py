"""Pools: the customer's pools, each with its counts, its capacity schedule as a weekly grid and a chart
of its size and assignments over the last 24 hours (read only; partner staff change the settings)."""

from django.http import HttpResponse
from django.views.decorators.http import require_GET

from orchestration.services.pools import pool_counts, pool_list, pool_overview
from partnerportal.selfservice.access import PortalRequest, portal_view
from partnerportal.selfservice.views.common import not_found, page


def _pools(request: PortalRequest):
    return pool_list().filter(customer=request.customer)


@require_GET
@portal_view()
def pool_index(request: PortalRequest) -> HttpResponse:
    pools = list(_pools(request))
    rows = [(pool, pool_counts(pool)) for pool in pools]
    return page(request, "selfservice/pools/index.html", {"rows": rows})


@require_GET
@portal_view()
def pool_detail(request: PortalRequest, pk: int) -> HttpResponse:
    pool = _pools(request).filter(pk=pk).first()
    if pool is None:
        raise not_found()
    return page(
        request,
        "selfservice/pools/detail.html",
        {"overview": pool_overview(pool), "hours": range(24), "chart_id": f"pool-chart-{pool.pk}"},
    )
