"""`manage.py schedules_install`: put the standard periodic work into django-celery-beat (idempotent)."""

from django.core.management.base import BaseCommand

from orchestration.services.schedules import schedules_install


class Command(BaseCommand):
    help = (
        "Create the standard beat schedules (jobs sweep, reconciliation, idle sweep, golden-image "
        "pipelines) in the database. Existing ones keep the interval staff gave them unless --reset."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--reset", action="store_true", help="Put every standard schedule back to its declared interval."
        )

    def handle(self, *args, **options) -> None:
        for name, what in schedules_install(reset=options["reset"]).items():
            self.stdout.write(f"{name}: {what}")
