"""Querysets compiled into SQL once per process, for the reads every status page makes.

Django compiles a queryset into SQL each time it is evaluated, and for the short primary- and
foreign-key reads behind a status page compiling costs more CPU than running the query (an order
by its number: about two thirds of the ORM's time). A `CompiledQuery` is written as an ordinary
queryset of its parameters; its SQL, its columns and their converters are worked out on first use
per database, and each call then runs that SQL and builds the model instances as Django's own
ModelIterable does (`Model.from_db`, the fields' converters). Only plain querysets of one model
(filters, ordering, slicing, deferred fields; no select_related or annotations) are supported.

A model that nothing customises at instantiation (no `__init__` or `from_db` of its own, no
`pre_init`/`post_init` receivers) gets its rows' values written straight into new instances, as
`Model.__init__` would leave them, without its per-field `setattr` loop: a page's 20-odd rows
cost a fifth as much to build.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import connections, router
from django.db.models import Model, QuerySet, signals
from django.db.models.base import ModelState


@dataclass(frozen=True)
class _Compiled:
    sql: str
    attnames: list[str]  # the model's fields, in the order the SQL selects them
    converters: list[tuple[int, list, object]]  # (column, converters, expression)


class CompiledQuery:
    """`build(*params)`'s SQL, compiled once per database with `sample` as the parameters (which
    must come back as the query's parameters, in order); called with parameters, its rows."""

    def __init__(self, model: type[Model], build: Callable[..., QuerySet], sample: Sequence):
        self.model, self.build, self.sample = model, build, tuple(sample)
        self.compiled: dict[str, _Compiled] = {}

    def __call__(self, *params) -> list:
        alias = router.db_for_read(self.model)
        compiled = self.compiled.get(alias) or self._compile(alias)
        connection = connections[alias]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if compiled.converters:
            rows = [self._converted(list(row), compiled.converters, connection) for row in rows]
        if not _plain(self.model):
            return [self.model.from_db(alias, compiled.attnames, row) for row in rows]
        return [_instance(self.model, alias, compiled.attnames, row) for row in rows]

    @staticmethod
    def _converted(row: list, converters, connection) -> list:
        for position, functions, expression in converters:
            value = row[position]
            for function in functions:
                value = function(value, expression, connection)
            row[position] = value
        return row

    def _compile(self, alias: str) -> _Compiled:
        query = self.build(*self.sample).using(alias).query
        compiler = query.get_compiler(alias)
        sql, params = compiler.as_sql()
        if tuple(params) != self.sample:  # the parameters must be exactly ours
            raise ValueError(f"{self.model.__name__} compiled with {params!r}, not {self.sample!r}")
        info = compiler.klass_info
        if info is None or info.get("related_klass_infos") or compiler.annotation_col_map:
            raise ValueError(f"{self.model.__name__}: only plain querysets of one model can be compiled")
        if info["select_fields"] != list(range(len(compiler.select))):  # the model's fields alone
            raise ValueError(f"{self.model.__name__}: the query selects more than the model's fields")
        columns = [expression for expression, _sql, _alias in compiler.select]
        converters = compiler.get_converters(columns)
        compiled = _Compiled(
            sql=sql,
            attnames=[column.target.attname for column in columns],
            converters=[(position, *converter) for position, converter in converters.items()],
        )
        self.compiled[alias] = compiled
        return compiled


def _plain(model: type[Model]) -> bool:
    """Whether `Model.from_db` would do nothing but set the fields: no `__init__` or `from_db` of
    the model's own, and nobody listening to its instantiation (asked on every call: receivers
    may connect at any time)."""
    return (
        model.__init__ is Model.__init__
        and model.from_db.__func__ is Model.from_db.__func__
        and not signals.pre_init.has_listeners(model)
        and not signals.post_init.has_listeners(model)
    )


def _instance(model: type[Model], alias: str, attnames: list[str], row) -> Model:
    """What `model.from_db(alias, attnames, row)` returns: the loaded fields in the instance's
    `__dict__` (deferred ones absent), its state not adding and from `alias`."""
    instance = model.__new__(model)
    state = instance._state = ModelState()
    state.adding, state.db = False, alias
    instance.__dict__.update(zip(attnames, row, strict=True))
    return instance
