"""The SDK maps exactly the server's error table (like httpx's all-exceptions-mapped test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kliqs_core import KliqsError
from kliqs_core.errors import error_class_for_code
from server.api.errors import ErrorCode

FIXTURES = Path(__file__).parent / "fixtures" / "errors"


def _sdk_leaves() -> set[type[KliqsError]]:
    found: set[type[KliqsError]] = set()
    pending = [KliqsError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.error_code is not None:
            found.add(cls)
    return found


@pytest.mark.parametrize("code", list(ErrorCode), ids=lambda c: c.value)
def test_every_server_error_code_has_an_sdk_class_with_its_status(code: ErrorCode) -> None:
    cls = error_class_for_code(code.value)

    assert cls is not None, f"kliqs_core.errors has no class for the server's {code.value}"
    assert cls.http_status == code.status


def test_the_sdk_has_no_class_for_a_code_the_server_does_not_answer() -> None:
    server_codes = {code.value for code in ErrorCode}

    stale = {cls.__name__ for cls in _sdk_leaves() if cls.error_code not in server_codes}

    assert stale == set()


@pytest.mark.parametrize("code", list(ErrorCode), ids=lambda c: c.value)
def test_every_server_error_code_has_a_canned_response(code: ErrorCode) -> None:
    assert (FIXTURES / f"{code.value}.yaml").is_file()
