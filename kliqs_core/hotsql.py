"""Hot statements: SQLAlchemy Core compiled once per dialect, run on the DB-API cursor.

On a hot path (the server's API calls, the connector's webhook acknowledgement)
SQLAlchemy's per-execution work (cache keys, execution contexts, events) costs several times
what SQLite needs to run the statement. A :class:`HotStatement` keeps the statement written in
Core (one definition, both databases) but compiles it once per dialect and executes it on the
connection's own DB-API cursor, inside the same transaction, with the bind and result
processors of its column types applied by hand: what is stored is what SQLAlchemy stores.
Driver errors are raised as SQLAlchemy's (``IntegrityError``, ``OperationalError``...), so
callers catch the same exceptions as around ``conn.execute``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: tuple[str, ...] | None
    defaults: dict[str, Any]
    bind_processors: dict[str, Callable[[Any], Any]]
    result_processors: tuple[Processor, ...]


@dataclass(frozen=True)
class HotResult:
    """Rows (tuples, result types applied) and the rows the statement changed."""

    rows: list[tuple[Any, ...]]
    rowcount: int

    def first(self) -> tuple[Any, ...] | None:
        """The first row, if any."""
        return self.rows[0] if self.rows else None

    def scalar(self) -> Any:
        """The first column of the first row, or None."""
        return self.rows[0][0] if self.rows else None


class HotStatement:
    """A Core statement run on the raw cursor of a SQLAlchemy connection."""

    def __init__(
        self, statement: ClauseElement, *, column_keys: Sequence[str] | None = None
    ) -> None:
        self._statement = statement
        self._column_keys = list(column_keys) if column_keys is not None else None
        self._compiled: dict[str, _Compiled] = {}

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = cast(
            SQLCompiler,
            self._statement.compile(dialect=dialect, column_keys=self._column_keys),
        )
        binds = compiled.binds
        expanding = [name for name, bind in binds.items() if bind.expanding]
        if expanding:  # rendered only at execution time, which this skips
            raise ValueError(f"a hot statement cannot expand IN parameters {expanding}: "
                             "compare with each value (or_) instead")  # fmt: skip
        processors: dict[str, Callable[[Any], Any]] = {}
        for name, bind in binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors[name] = processor
        columns = getattr(self._statement, "exported_columns", ())  # SELECT list or RETURNING
        results = tuple(
            col.type.dialect_impl(dialect).result_processor(dialect, None) for col in columns
        )
        positional = tuple(compiled.positiontup) if compiled.positiontup is not None else None
        defaults = {name: bind.value for name, bind in binds.items() if bind.value is not None}
        return _Compiled(str(compiled), positional, defaults, processors, results)

    def _for(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = self._compile(dialect)
        return found

    def execute(self, conn: Connection, params: dict[str, Any] | None = None) -> HotResult:
        """Run in ``conn``'s transaction."""
        plan = self._for(conn.dialect)
        values = {**plan.defaults, **(params or {})}
        for name, processor in plan.bind_processors.items():
            if name in values:
                values[name] = processor(values[name])
        args: Any = values if plan.positional is None else tuple(values[n] for n in plan.positional)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        driver_error = conn.dialect.loaded_dbapi.Error
        try:
            cursor.execute(plan.sql, args)
            rows = cursor.fetchall() if cursor.description is not None else []
            rowcount = cursor.rowcount
        except driver_error as exc:
            raise DBAPIError.instance(plan.sql, args, exc, driver_error) from exc
        finally:
            cursor.close()
        if any(plan.result_processors):
            rows = [
                tuple(p(v) if p is not None else v
                      for p, v in zip(plan.result_processors, row, strict=True))  # fmt: skip
                for row in rows
            ]
        return HotResult([tuple(row) for row in rows], rowcount)
