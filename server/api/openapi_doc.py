"""OpenAPI fragments for routes whose inputs are parsed by hand (see ``schemas``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from server.api.errors import ErrorCode
from server.api.schemas import ErrorOut


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` declaring ``model`` as the required JSON body."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
            },
        }
    }


def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    """One query parameter."""
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


def header(name: str, description: str) -> dict[str, Any]:
    """One optional request header."""
    return {"name": name, "in": "header", "required": False, "schema": {"type": "string"},
            "description": description}


def errors(*codes: ErrorCode) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for the statuses ``codes`` answer, plus 401, 429 and 500."""
    every = (
        ErrorCode.UNAUTHORIZED,
        ErrorCode.API_LIMIT_REACHED,
        ErrorCode.INTERNAL_ERROR,
        *codes,
    )
    by_status: dict[int, list[str]] = {}
    for code in every:
        by_status.setdefault(code.status, []).append(code.value)
    return {
        status: {"model": ErrorOut, "description": ", ".join(names)}
        for status, names in sorted(by_status.items())
    }
