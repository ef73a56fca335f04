"""One UPDATE for many rows with a value of their own each: `UPDATE … FROM (VALUES …)`.

Django's `bulk_update` (and a CASE per field) says the same in SQL, but builds a When expression per row
and field in Python: for 25 desktops and 15 fields that took longer than the AWS call it records. Here
the statement is one string and one list of parameters; every row trigger still fires once per row.
"""

from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from typing import Any, TypeVar

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections, router
from django.db.backends.utils import CursorDebugWrapper
from django.db.models import Field, Model, QuerySet

# Fewer rows than this go in one INSERT (one statement); more in a COPY after their ids (two statements,
# but 1,000 desktops of 30 columns take a fraction of an INSERT's time).
COPY_FROM_ROWS = 100
M = TypeVar("M", bound=Model)


def _column(model: type[Model], name: str) -> Field:
    field = model._meta.get_field(name)
    assert isinstance(field, Field) and field.concrete, f"{name} is not a column of {model.__name__}"
    return field


def rows_update(
    queryset: QuerySet,
    objs: Sequence[Model],
    fields: Sequence[str],
    *,
    values: Mapping[str, Any] | None = None,
) -> int:
    """Write each object's `fields` onto its row, and `values` (the same for all) too, in one statement;
    only rows `queryset` matches are written. Returns how many rows were written.

    `queryset` may filter on the model's own columns (a fence: status, lease token), not across joins.
    `values` are plain values, not expressions.
    """
    if not objs:
        return 0
    model = queryset.model
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return _rows_update_portably(queryset, objs, fields, values or {})
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    pk = model._meta.pk
    assert pk is not None
    per_row = [pk, *(_column(model, name) for name in fields)]
    same = {_column(model, name): value for name, value in (values or {}).items()}

    assignments = [f"{quote(f.column)} = v.{quote(f.column)}" for f in per_row[1:]]
    assignments += [f"{quote(f.column)} = %s" for f in same]
    params: list[Any] = [f.get_db_prep_save(value, connection) for f, value in same.items()]
    placeholders = "(" + ", ".join(f"%s::{f.db_type(connection)}" for f in per_row) + ")"
    for obj in objs:
        params += [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in per_row]
    # Only quoted column names and placeholders are put into the text; every value is a parameter.
    sql = (
        f"UPDATE {table} SET {', '.join(assignments)} "  # noqa: S608
        f"FROM (VALUES {', '.join([placeholders] * len(objs))}) "
        f"AS v({', '.join(quote(f.column) for f in per_row)}) "
        f"WHERE {table}.{quote(pk.column)} = v.{quote(pk.column)}"
    )
    query = queryset.query
    try:
        where, where_params = query.get_compiler(queryset.db).compile(query.where)
    except FullResultSet:
        where, where_params = "", []
    except EmptyResultSet:
        return 0
    if where:
        sql += f" AND {where}"
        params += list(where_params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _rows_update_portably(
    queryset: QuerySet, objs: Sequence[Model], fields: Sequence[str], values: Mapping[str, Any]
) -> int:
    """The same writes through Django's `bulk_update`, for `make run`'s SQLite (no `AS v(cols)` there)."""
    for obj in objs:
        for name, value in values.items():
            setattr(obj, name, value)
    return queryset.bulk_update(objs, [*fields, *values])


def rows_insert(
    model: type[M],
    objs: Sequence[M],
    *,
    from_id: Callable[[M], None] | None = None,
    from_id_fields: Sequence[str] = (),
    copy_from_rows: int = COPY_FROM_ROWS,
) -> list[M]:
    """Insert new objects, their ids taken first from the table's sequence, and every row in one COPY;
    returns the objects with their ids set.

    For thousands of rows at once (a bulk create's desktops and job items): COPY streams the rows
    without Django building an INSERT of 30 columns times N placeholders. `from_id` sets columns derived
    from the new id (`from_id_fields`, a WorkSpace's name) before the row is written, so they need no
    UPDATE after. Row triggers fire as for an INSERT. Django's `bulk_create` (and an UPDATE of the
    derived columns) elsewhere: SQLite, `make run`. Like `bulk_create`, no `save()` and no signals.
    The COPY runs through Django's execute wrappers, so query counting and the debug log see it as one
    statement. Fewer rows than `copy_from_rows` go in one INSERT instead (1: always the id query and the
    COPY, two statements whatever the number of rows).
    """
    objs = list(objs)
    if not objs:
        return objs
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql" or len(objs) < copy_from_rows:
        objs = model._default_manager.bulk_create(objs)
        if from_id is not None:
            for obj in objs:
                from_id(obj)
            model._default_manager.bulk_update(objs, list(from_id_fields))
        return objs
    pk = model._meta.pk
    assert pk is not None
    for obj, new_id in zip(objs, rows_new_ids(model, len(objs)), strict=True):
        setattr(obj, pk.attname, new_id)
        if from_id is not None:
            from_id(obj)
    columns = [f for f in model._meta.concrete_fields if f.column]
    quote = connection.ops.quote_name
    sql = f"COPY {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in columns)}) FROM STDIN"
    rows = [[f.get_db_prep_save(f.pre_save(obj, True), connection) for f in columns] for obj in objs]

    def copy_rows(sql: str, params: Any, many: bool, context: Any) -> None:
        with connection.wrap_database_errors, context["cursor"].cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)

    with connection.cursor() as cursor:
        # Through Django's execute wrappers and query log, so the COPY is counted like any statement.
        logged = cursor.debug_sql(sql) if isinstance(cursor, CursorDebugWrapper) else nullcontext()
        with logged:
            cursor._execute_with_wrappers(sql, None, False, copy_rows)
    for obj in objs:
        obj._state.adding, obj._state.db = False, connection.alias
    return objs


def rows_new_ids(model: type[Model], count: int) -> list[int]:
    """`count` new ids from the model's id sequence, in one statement (PostgreSQL only)."""
    pk = model._meta.pk
    assert pk is not None
    connection = connections[router.db_for_write(model)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [connection.ops.quote_name(model._meta.db_table), pk.column, count],
        )
        return [row[0] for row in cursor.fetchall()]
