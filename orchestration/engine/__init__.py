"""The job engine: rows are the truth, tasks claim items with leases, a sweeper repairs what got lost.

A job is one piece of requested work (create 300 desktops, import an image); its items are the units
(one desktop, one image). Each job kind has one runner (`runner.JobRunner`): it says how one delivery
of items runs and, if the kind waits on AWS, how a poll looks. The engine owns everything around it:

- `jobs`: the one constructor of a job and its items (`job_create`, `jobs_create`), and the job's
  status derived from its items (SUCCEEDED, PARTIAL, FAILED), with the runner's settlement.
- `items`: every change of an item's status, batch-shaped (one UPDATE per call however many items) and
  taking the audit events that describe it, written in the same transaction: claim (a lease, skip
  locked rows, poison after too many deliveries), wait (with the next poll), succeed, fail, retry later
  (exponential backoff with full jitter and a cap; counting an attempt or not).
- `publish`: messages go out only after the transaction that made the rows commits, through Celery's
  current app (the engine never imports the project's Celery module).
- `runner`: the runner base class, the registry check, and one delivery or poll from claim to status.
- `sweeper`: re-sends items whose lease expired or whose message was lost, and revives lost polls.

A runner never writes `JobItem.status` itself.
"""
