"""Loaded into a benchmark's Celery workers (`celery worker --include bench.sql_counter`): counts the SQL
statements each task runs on its connection and appends one JSON line per task to $BENCH_SQL_LOG, which
the benchmark reads back (nothing without it). Savepoints count; BEGIN and COMMIT (not statements Django sends) do not."""

import json
import os
from contextlib import ExitStack

from celery.signals import task_postrun, task_prerun
from django.db import connection

_running: dict[str, tuple[ExitStack, list[int]]] = {}


def _counting(counter: list[int]):
    def wrapper(execute, sql, params, many, context):
        counter[0] += 1
        return execute(sql, params, many, context)

    return wrapper


@task_prerun.connect
def _start(task_id=None, task=None, args=None, **_) -> None:
    if not os.environ.get("BENCH_SQL_LOG"):
        return  # a benchmark that does not read the counts
    counter = [0]
    stack = ExitStack()
    stack.enter_context(connection.execute_wrapper(_counting(counter)))
    _running[task_id] = (stack, counter)


@task_postrun.connect
def _finish(task_id=None, task=None, args=None, **_) -> None:
    stack, counter = _running.pop(task_id, (None, [0]))
    if stack is None:
        return
    stack.close()
    line = json.dumps(
        {"task": task.name, "args": list(args or []), "queries": counter[0], "pid": os.getpid()}
    )
    with open(os.environ["BENCH_SQL_LOG"], "a") as log:
        log.write(line + "\n")
