"""`manage.py usage_report`: hours each desktop was AVAILABLE, per day or month, as CSV."""

from django.core.management.base import BaseCommand, CommandError

from tenants.models import Customer
from tenants.selectors import USAGE_GRANULARITIES, month_bounds, usage_available_hours, usage_write_csv


class Command(BaseCommand):
    help = "Write a customer's desktop usage (hours AVAILABLE) for a month as CSV, per day or per month."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--customer", required=True, help="The customer's slug.")
        parser.add_argument("--month", required=True, help="YYYY-MM (UTC).")
        parser.add_argument("--granularity", choices=USAGE_GRANULARITIES, default="day")

    def handle(self, *args, **options) -> None:
        customer = Customer.objects.filter(slug=options["customer"]).first()
        if customer is None:
            raise CommandError(f"No customer with slug {options['customer']!r}.")
        try:
            start, end = month_bounds(options["month"])
        except ValueError as exc:
            raise CommandError(f"--month is YYYY-MM, not {options['month']!r}.") from exc
        rows = usage_available_hours(
            customer=customer, start=start, end=end, granularity=options["granularity"]
        )
        usage_write_csv(rows, customer=customer, out=self.stdout)
