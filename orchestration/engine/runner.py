"""One runner per job kind, and the engine's side of a delivery and of a poll.

A runner (NetBox's JobRunner idea, on top of our durable items and leases) is a class that says, for its
kind: how a request becomes a job and its items (`job_create`, called by the kind's entry service), how
one delivery of claimed items runs (`run`), how it looks at AWS for items that wait (`poll`), and what
the finished job's result says (`settle`). Every status change goes through the engine's batch-shaped
calls below; a runner never writes `JobItem.status` itself. orchestration/services/jobs.py lists every
runner once, keyed by the kinds it runs.
"""

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import ClassVar, TypeVar

from django.conf import settings
from django.db.models import Min
from django.utils import timezone

from orchestration.actors import Actor
from orchestration.aws import ratelimit
from orchestration.aws.calls import chunked
from orchestration.aws.errors import AwsAccessDenied, AwsError, AwsThrottled
from orchestration.choices import JOB_TERMINAL_STATUSES, JobItemStatus
from orchestration.engine import items as engine_items
from orchestration.engine.jobs import NewItem, job_create, job_refresh_status
from orchestration.engine.publish import job_poll_release, job_schedule_poll
from orchestration.models import AuditEvent, Job, JobItem
from orchestration.services.accounts import account_flag_access_denied
from tenants.models import Customer

logger = logging.getLogger(__name__)

Report = TypeVar("Report")  # what AWS reports of one resource a poll looks at

# At most this many AWS calls in one delivery of a kind whose call takes many items (25 a call): the
# claim, job status and poll around a delivery cost the same SQL for 250 items as for 25.
CALLS_PER_DELIVERY = 10


class JobRunner:
    """How one kind of job runs. Subclass it per kind (or family of kinds), and list it in the registry.

    The engine calls `run(items)` with the items one delivery claimed (RUNNING, leased to it), and
    `poll(items)` with the WAITING items whose poll is due. Each item ends the call in a new state set
    through `wait`, `succeed`, `fail`, `fail_each` or `retry_later` (or stays as it is: a poll that
    learned nothing new leaves its items waiting). After either call the engine asks for the next poll
    while any item waits, and derives the job's status; when the job finishes, `settle` says what goes
    into its result.
    """

    kinds: ClassVar[tuple[str, ...]] = ()
    # Items per delivery (`items_per_delivery`): a multiple of the AWS call's batch limit where one call
    # takes many (CreateWorkspaces: 25).
    batch_size: ClassVar[int] = 1
    # Whether items of this kind wait on AWS (and so are polled).
    polls: ClassVar[bool] = False
    # A select_related path for the items a poll gets.
    poll_related: ClassVar[str] = ""
    # Polls come every JOB_POLL_INTERVAL_SECONDS times this (images take most of an hour: fewer looks).
    poll_factor: ClassVar[float] = 1.0
    # Items one poll looks at (DescribeWorkspaces takes 25 ids: ten calls); more due go to a poll of their
    # own at once, so two worker processes poll a large job side by side.
    poll_batch_size: ClassVar[int] = 25 * CALLS_PER_DELIVERY

    def __init__(self, job: Job) -> None:
        self.job = job

    # --------------------------------------------------------------------------- what a kind defines
    def run(self, items: list[JobItem]) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not run items")

    def poll(self, items: list[JobItem]) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not poll")

    def settle(self, job: Job) -> dict:
        """What goes into the finished job's result (merged into what is there); `job` is locked."""
        return {}

    @classmethod
    def items_per_delivery(cls, kind: str) -> int:
        """How many items one delivery of this kind takes (the kinds of one runner may differ)."""
        return cls.batch_size

    @classmethod
    def poll_interval(cls) -> float:
        return settings.JOB_POLL_INTERVAL_SECONDS * cls.poll_factor

    @classmethod
    def job_create(
        cls,
        *,
        actor: Actor,
        customer: Customer,
        items: Sequence[NewItem],
        params: dict | None = None,
        result: dict | None = None,
        queue: str = "",
        kind: str = "",
        audit: Callable[[Job], Iterable[AuditEvent]] | None = None,
    ) -> Job:
        """This kind's job and its items in one transaction; deliveries are sent after commit.

        `audit` makes the events that go with the new job (they name it), written in the same transaction.
        """
        kind = kind or cls.kinds[0]
        if kind not in cls.kinds:
            raise ValueError(f"{cls.__name__} does not run {kind} jobs")
        return job_create(
            kind=kind,
            actor=actor,
            customer=customer,
            items=items,
            params=params,
            result=result,
            queue=queue,
            batch_size=cls.items_per_delivery(kind),
            audit=audit,
        )

    # ------------------------------------------------------------------------ the engine's state changes
    def wait(
        self,
        items: Sequence[JobItem],
        *,
        audit: Iterable[AuditEvent] = (),
        poll_in: float | None = None,
        answered_at: Mapping[int, datetime] | None = None,
    ) -> None:
        """AWS took the work: the items wait for the poll (the AWS ids set on them are written too), `poll_in`
        seconds after AWS answered their call (`answered_at` by item id) or after now."""
        engine_items.items_wait(
            items,
            poll_in=self.poll_interval() if poll_in is None else poll_in,
            audit=audit,
            answered_at=answered_at,
        )

    def still_waiting(self, items: Sequence[JobItem]) -> list[JobItem]:
        """The items a poll may still settle, locked (call inside the transaction that settles them)."""
        return engine_items.items_still_waiting(items)

    def succeed(self, items: Sequence[JobItem], *, audit: Iterable[AuditEvent] = ()) -> None:
        engine_items.items_succeed(items, audit=audit)

    def fail(
        self, items: Sequence[JobItem], code: str, message: str, *, audit: Iterable[AuditEvent] = ()
    ) -> None:
        engine_items.items_fail(items, code=code, message=message, audit=audit)

    def fail_each(self, items: Sequence[JobItem], *, audit: Iterable[AuditEvent] = ()) -> None:
        """Fail items each with the error_code/error_message set on it."""
        engine_items.items_fail_each(items, audit=audit)

    def retry_later(
        self,
        items: Sequence[JobItem],
        *,
        count_attempt: bool,
        forget_submission: bool = False,
        not_before: float = 0.0,
        audit: Iterable[AuditEvent] = (),
    ) -> None:
        engine_items.items_retry_later(
            self.job,
            items,
            batch_size=self.items_per_delivery(self.job.kind),
            count_attempt=count_attempt,
            forget_submission=forget_submission,
            not_before=not_before,
            audit=audit,
        )

    def retry_or_fail(
        self,
        items: Sequence[JobItem],
        error: AwsError,
        *,
        account_id: str,
        audit: Iterable[AuditEvent] = (),
        audit_if_retried: Iterable[AuditEvent] = (),
        message: str = "",
    ) -> bool:
        """The one rule for an AWS error on these items; True if they will be retried.

        Retryable errors give the items back for a later delivery: throttling is AWS declining to act,
        so it costs no attempt and the next delivery calls again; anything else may hide a success, so
        it counts and the submitted mark makes the next delivery look first. Other errors fail the items
        with AWS's code and `message` (AWS's own by default), with `audit`; an access refusal also
        flags the account connection. `audit_if_retried` is written with the items given back (a create
        whose answer was lost is audited even though it is retried).
        """
        if error.retryable:
            throttled = isinstance(error, AwsThrottled)
            self.retry_later(
                items, count_attempt=not throttled, forget_submission=throttled, audit=audit_if_retried
            )
            return True
        self.fail(items, error.code, message or error.message, audit=audit)
        if isinstance(error, AwsAccessDenied):
            account_flag_access_denied(account_id=account_id, code=error.code, message=error.message)
        return False

    def poll_failed(
        self, items: Sequence[JobItem], error: AwsError, *, account_id: str, audit: Iterable[AuditEvent] = ()
    ) -> None:
        """A poll's look at AWS failed: after a retryable error the items wait for the next poll; any
        other fails them with AWS's code and message (an access refusal also flags the account)."""
        if not error.retryable:
            self.retry_or_fail(items, error, account_id=account_id, audit=audit)

    def poll_in_calls(
        self,
        items: list[JobItem],
        *,
        per_call: int,
        look: Callable[[list[str]], Mapping[str, Report]],
        settle: Callable[[list[JobItem], dict[str, Report]], None],
        account_id: str,
    ) -> None:
        """Look at AWS `per_call` items a call (`look` gets their `aws_resource_id`s and answers AWS's
        reports by id), then settle the items looked at: also when a later call fails or the account's
        rate limit pauses the poll, so what AWS told is not asked again. Items a failed call did not
        cover go to `poll_failed`."""
        looked: list[JobItem] = []
        reported: dict[str, Report] = {}
        try:
            for chunk in chunked(items, per_call):
                reported.update(look([i.aws_resource_id for i in chunk]))
                looked += chunk
        except AwsError as error:
            self.poll_failed(items[len(looked) :], error, account_id=account_id)
        finally:
            if looked:
                settle(looked, reported)


def runners_by_kind(*runners: type[JobRunner]) -> Mapping[str, type[JobRunner]]:
    """The registry: each job kind to the one runner that runs it (a kind listed twice is an error)."""
    registry: dict[str, type[JobRunner]] = {}
    for runner in runners:
        for kind in runner.kinds:
            if kind in registry:
                raise ValueError(f"{kind} is run by both {registry[kind].__name__} and {runner.__name__}")
            registry[kind] = runner
    return registry


def _first_due(job_id: int, *, besides: Sequence[JobItem] = ()) -> datetime | None:
    """When the job's first waiting item (other than `besides`) is due for a poll."""
    waiting = JobItem.objects.filter(job_id=job_id, status=JobItemStatus.WAITING)
    if besides:
        waiting = waiting.exclude(pk__in=[item.pk for item in besides])
    return waiting.aggregate(first=Min("next_poll_at"))["first"]


def _poll_next(job: Job, first_due: datetime | None) -> None:
    """Ask for the job's next poll at `first_due` (unless one is already coming)."""
    if first_due is not None:
        job_schedule_poll(job, countdown=max(0.0, (first_due - timezone.now()).total_seconds()))


def _step_done(runner: JobRunner) -> None:
    """After a delivery or a poll: the next poll when the first waiting item is due, then the job's status."""
    if runner.polls:
        _poll_next(runner.job, _first_due(runner.job.pk))
    job_refresh_status(job_id=runner.job.pk, settle=runner.settle)


def job_deliver(runner_class: type[JobRunner], *, job_id: int, item_ids: Sequence[int]) -> None:
    """One delivery: claim the items (nothing claimed: another delivery has them or they are done), run
    them, then the job's next poll and status.

    A delivery that does not finish (the soft time limit, any error) is a failed delivery, never a
    success: it lets go of the items it still holds (still submitted, so the next delivery looks before
    it calls) and raises. One whose items were re-claimed meanwhile (LeaseLost) stops without writing.
    """
    claim = engine_items.items_claim(job_id=job_id, item_ids=item_ids)
    if not claim.items and not claim.poisoned:
        return
    job = Job.objects.select_related("customer").get(pk=job_id)
    runner = runner_class(job)
    if claim.items:
        budget = ratelimit.HoldBudget(settings.AWS_RATE_LIMIT_DELIVERY_WAIT)
        try:
            with ratelimit.holding_at_most(budget):
                runner.run(claim.items)
        except ratelimit.RateLimitPause as pause:
            try:
                _hand_back(runner, claim.items, budget, pause)
            except Exception:  # as a failed delivery: the items' lease ends now, the sweeper sends them
                engine_items.items_abandon(claim.items)
                raise
        except engine_items.LeaseLost as lost:
            logger.warning("job %s: delivery stopped, its items were re-claimed (%s)", job_id, lost)
            return
        except engine_items.DeliveryRefused as refused:
            # Sending again cannot help (the account has no role yet): fail what this delivery still holds.
            held = [i for i in claim.items if i.lease_token is not None and i.status == JobItemStatus.RUNNING]
            engine_items.items_fail(held, code=refused.code, message=refused.message)
            logger.warning("job %s: delivery refused (%s): %d items failed", job_id, refused.code, len(held))
        except BaseException:
            try:
                released = engine_items.items_abandon(claim.items)
            except Exception:  # the database is what failed: the items' lease runs out on its own
                logger.warning("job %s: could not let go of the items", job_id, exc_info=True)
                raise
            logger.warning("job %s: delivery failed; %d items left for the next delivery", job_id, released)
            raise
    _step_done(runner)


def _hand_back(
    runner: JobRunner, items: Sequence[JobItem], budget: ratelimit.HoldBudget, pause: ratelimit.RateLimitPause
) -> None:
    """The account's bucket is empty: what the delivery still holds comes back once it has refilled
    (spread a little, so deliveries paused together do not all return at once), and the worker process
    is free for other accounts meanwhile. What AWS answered before the pause is already written."""
    held = [i for i in items if i.lease_token is not None and i.status == JobItemStatus.RUNNING]
    delay = pause.come_back_in()
    try:
        handed = engine_items.items_hand_back(
            runner.job,
            held,
            batch_size=runner.items_per_delivery(runner.job.kind),
            nothing_made=budget.made_nothing(),
            delay=delay,
        )
    except engine_items.LeaseLost as lost:
        logger.warning("job %s: paused delivery's items were re-claimed (%s)", runner.job.pk, lost)
        return
    logger.info("job %s: %s; %d items back in %.1fs", runner.job.pk, pause, handed, delay)


def job_poll_run(runner_class: type[JobRunner], *, job_id: int) -> None:
    """One poll: the job's due WAITING items (up to `poll_batch_size`) to the runner's look at AWS, then
    the next poll and status."""
    job = Job.objects.select_related("customer").filter(pk=job_id).first()
    if job is None or job.status in JOB_TERMINAL_STATUSES or not runner_class.polls:
        return
    job_poll_release(job_id)
    runner = runner_class(job)
    due = engine_items.poll_items_due(
        job_id=job_id,
        interval=runner.poll_interval(),
        related=runner.poll_related,
        limit=runner.poll_batch_size,
    )
    # Items due beyond this poll's batch, or falling due while it waits on AWS, get their poll now, which
    # another worker process runs beside this one (1,000 desktops due at once: four polls of ten calls side
    # by side, not one of 40). Only those due before this poll's own items are due again: a later poll
    # would hold the job's one pending slot past them, so that one is asked for when this poll ends.
    if due:
        next_due = _first_due(job_id, besides=due)
        if next_due is not None and next_due < timezone.now() + timedelta(seconds=runner.poll_interval()):
            _poll_next(job, next_due)
        try:
            with ratelimit.holding_at_most(ratelimit.HoldBudget(settings.AWS_RATE_LIMIT_DELIVERY_WAIT)):
                runner.poll(due)
        except ratelimit.RateLimitPause as pause:
            # A look can wait too: what the runner did not settle is due again once the bucket has refilled.
            engine_items.items_poll_again(due, delay=pause.come_back_in())
            logger.info("job %s: poll paused, %s", job_id, pause)
    _step_done(runner)
