"""The ``kliqs`` command: one typer app, each part of the project adding its commands."""

from __future__ import annotations

from server.cli.root import app, main

__all__ = ["app", "main"]
