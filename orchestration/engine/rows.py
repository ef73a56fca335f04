"""One UPDATE for many rows with a value of their own each: `UPDATE … FROM (VALUES …)`.

Django's `bulk_update` (and a CASE per field) says the same in SQL, but builds a When expression per row
and field in Python: for 25 desktops and 15 fields that took longer than the AWS call it records. Here
the statement is one string and one list of parameters; every row trigger still fires once per row.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections
from django.db.models import Field, Model, QuerySet


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
