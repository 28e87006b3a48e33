"""GraphQL documents kept in ``.graphql`` files, parsed and validated once.

Each platform keeps its operations (one per file, the file named after the operation) next to
a ``schema.graphql``: a subset of the platform's real schema holding only the types those
operations touch. A :class:`DocumentSet` reads a folder of them; a document is parsed and
validated against the schema the first time it is asked for and cached for the life of the
process, so a typo'd field fails loudly at the first use (and in the test suite), never as a
confusing error from the shop at run time.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    build_schema,
    parse,
    validate,
)

OperationType = Literal["query", "mutation", "subscription"]

SCHEMA_FILE = "schema.graphql"
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class DocumentError(ValueError):
    """A ``.graphql`` document is missing, unparsable or invalid against its bundled schema."""


@dataclass(frozen=True)
class GraphQLDocument:
    """One parsed and validated operation, ready to send."""

    name: str
    operation: OperationType
    source: str
    path: Path
    ast: DocumentNode = field(compare=False, repr=False)

    @property
    def is_mutation(self) -> bool:
        """True for a mutation (whose payload may carry user errors)."""
        return self.operation == "mutation"


class DocumentSet:
    """The ``.graphql`` operations in one folder and the ``schema.graphql`` they target."""

    def __init__(self, directory: Path, *, schema_file: str = SCHEMA_FILE) -> None:
        self.directory = Path(directory)
        self.schema_path = self.directory / schema_file
        self._schema: GraphQLSchema | None = None
        self._cache: dict[str, GraphQLDocument] = {}
        self._lock = threading.Lock()

    @property
    def schema(self) -> GraphQLSchema:
        """The bundled schema subset, built on first use."""
        with self._lock:
            if self._schema is None:
                self._schema = self._build_schema()
            return self._schema

    def names(self) -> tuple[str, ...]:
        """Names of every operation file in the folder (schema excluded), sorted."""
        return tuple(
            sorted(
                path.stem
                for path in self.directory.glob("*.graphql")
                if path != self.schema_path
            )
        )

    def load(self, name: str) -> GraphQLDocument:
        """Return the operation ``name``, parsing and validating it the first time.

        Raises :class:`DocumentError` naming the file and every problem found.
        """
        with self._lock:
            cached = self._cache.get(name)
        if cached is not None:
            return cached
        path = self._path_for(name)
        try:
            source = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            known = ", ".join(self.names()) or "none"
            raise DocumentError(
                f"no GraphQL document {name!r} in {self.directory} (known: {known})"
            ) from None
        document = self.check(source, name=name, path=path)
        with self._lock:
            return self._cache.setdefault(name, document)

    def load_all(self) -> tuple[GraphQLDocument, ...]:
        """Load (and so validate) every operation in the folder."""
        return tuple(self.load(name) for name in self.names())

    def check(self, source: str, *, name: str, path: Path | None = None) -> GraphQLDocument:
        """Parse and validate ``source`` as the single operation ``name``; nothing is cached."""
        where = path or self.directory / f"{name}.graphql"
        try:
            ast = parse(source)
        except GraphQLError as exc:
            raise DocumentError(f"{where.name} does not parse: {_describe(exc)}") from exc
        problems = validate(self.schema, ast)
        if problems:
            listed = "\n".join(f"  - {_describe(err)}" for err in problems)
            raise DocumentError(
                f"{where.name} is not valid against {self.schema_path}:\n{listed}"
            )
        operation = _single_operation(ast, name=name, file_name=where.name)
        return GraphQLDocument(
            name=name,
            operation=operation.operation.value,
            source=source,
            path=where,
            ast=ast,
        )

    def _path_for(self, name: str) -> Path:
        # The name becomes a file path: refuse anything that could leave the folder.
        if not _NAME_RE.match(name):
            raise DocumentError(f"invalid GraphQL document name {name!r}")
        return self.directory / f"{name}.graphql"

    def _build_schema(self) -> GraphQLSchema:
        try:
            return build_schema(self.schema_path.read_text(encoding="utf-8"))
        except (OSError, GraphQLError, TypeError) as exc:
            raise DocumentError(f"cannot build schema {self.schema_path}: {exc}") from exc


def _single_operation(
    ast: DocumentNode, *, name: str, file_name: str
) -> OperationDefinitionNode:
    operations = [d for d in ast.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1:
        raise DocumentError(
            f"{file_name} must hold exactly one operation, found {len(operations)}"
        )
    operation = operations[0]
    found = operation.name.value if operation.name else None
    if found != name:
        raise DocumentError(f"{file_name} must define operation {name!r}, found {found!r}")
    return operation


def _describe(error: GraphQLError) -> str:
    if error.locations:
        spots = ", ".join(f"line {loc.line}, column {loc.column}" for loc in error.locations)
        return f"{error.message} ({spots})"
    return error.message
