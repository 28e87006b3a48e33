"""``kliqs shorten``: shorten one URL, or every row of a CSV file.

The lead mounts the command on the root app: ``app.command("shorten")(kliqs_core.cli.shorten)``.
Exit codes: 0 done, 1 an API or input error, 2 bad usage, 3 a plan limit (quota) stopped it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from kliqs_core._batch import (
    BatchResult,
    CsvError,
    InputFile,
    read_done,
    read_input,
    run_batch,
)
from kliqs_core.client import KliqsClient
from kliqs_core.errors import ApiLimitReachedError, KliqsError, QuotaError

__all__ = ["EXIT_ERROR", "EXIT_QUOTA", "shorten"]

EXIT_ERROR = 1
EXIT_QUOTA = 3

_SINGLE_ONLY = ("--slug", "--title", "--description", "--expires-at", "--password")

# Parameter types as Annotated aliases keep the command's signature readable.
UrlArg = Annotated[str | None, typer.Argument(metavar="URL", help="The long URL to shorten.")]
FileOpt = Annotated[
    Path | None,
    typer.Option(
        "--file",
        "-f",
        help="CSV with a header and a 'url' column (optional: slug, title, description).",
        exists=True,
        dir_okay=False,
        readable=True,
    ),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Results CSV (default: <file>.results.csv); running again resumes it.",
        dir_okay=False,
    ),
]
SlugOpt = Annotated[str | None, typer.Option(help="Custom short code (3-64 of a-z 0-9 - _).")]
TitleOpt = Annotated[str | None, typer.Option(help="Link title.")]
DescriptionOpt = Annotated[str | None, typer.Option(help="Link description.")]
ExpiresAtOpt = Annotated[
    str | None,
    typer.Option("--expires-at", help="ISO 8601 expiry in the future; no offset means UTC."),
]
PasswordOpt = Annotated[str | None, typer.Option(help="Protect the link with a password.")]


def shorten(
    url: UrlArg = None,
    file: FileOpt = None,
    output: OutputOpt = None,
    slug: SlugOpt = None,
    title: TitleOpt = None,
    description: DescriptionOpt = None,
    expires_at: ExpiresAtOpt = None,
    password: PasswordOpt = None,
) -> None:
    """Shorten URL and print the short URL, or shorten every row of --file into a results CSV.

    Reads the API key from KLIQS_API_KEY and the API address from KLIQS_API_URL.
    """
    if url is not None and file is not None:
        raise typer.BadParameter("give a URL or --file, not both", param_hint="URL / --file")
    if file is not None:
        if any(v is not None for v in (slug, title, description, expires_at, password)):
            raise typer.BadParameter(
                "applies to a single URL; put slug, title, description in CSV columns",
                param_hint=" / ".join(_SINGLE_ONLY),
            )
        _shorten_file(file, output or file.with_name(f"{file.stem}.results.csv"))
        return
    if url is None:
        raise typer.BadParameter("give the URL to shorten, or --file", param_hint="URL / --file")
    if output is not None:
        raise typer.BadParameter("only with --file", param_hint="--output")
    _shorten_one(
        url,
        slug=slug,
        title=title,
        description=description,
        expires_at=expires_at,
        password=password,
    )


def _shorten_one(
    url: str,
    *,
    slug: str | None,
    title: str | None,
    description: str | None,
    expires_at: str | None,
    password: str | None,
) -> None:
    client = _client()
    try:
        link = client.create_link(
            url,
            slug=slug,
            title=title,
            description=description,
            expires_at=expires_at,
            password=password,
        )
    except KliqsError as exc:
        _fail(exc)
    finally:
        client.close()
    typer.echo(link.short_url)


def _shorten_file(file: Path, output: Path) -> None:
    try:
        source = read_input(file)
        done = read_done(output)
    except (CsvError, UnicodeDecodeError) as exc:
        _fail_with("INVALID_CSV", str(exc), EXIT_ERROR)
    client = _client()
    try:
        result = _run_with_progress(client, source, output, done)
    finally:
        client.close()
    _report(result, output)


def _run_with_progress(
    client: KliqsClient, source: InputFile, output: Path, done: dict[str, str]
) -> BatchResult:
    console = Console(stderr=True)
    columns = (TextColumn("Shortening"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("shorten", total=len(source.rows))

        def advance() -> None:
            progress.advance(task)

        return run_batch(client, source, output, done=done, on_row=advance)


def _report(result: BatchResult, output: Path) -> None:
    typer.echo(
        f"{result.shortened} shortened, {result.skipped} already done, {result.failed} failed, "
        f"{result.remaining} left; results in {output}",
        err=True,
    )
    if result.stopped_by is not None:
        hint = f"Run the same command again to resume; finished rows are kept in {output}."
        _fail(result.stopped_by, then=hint)
    if result.failed:
        raise typer.Exit(EXIT_ERROR)


def _client() -> KliqsClient:
    try:
        return KliqsClient.from_env()
    except ValueError as exc:
        _fail_with("CONFIGURATION_ERROR", str(exc), EXIT_ERROR)


def _fail(exc: KliqsError, *, then: str = "") -> NoReturn:
    message = exc.message
    if isinstance(exc, ApiLimitReachedError) and exc.resets_at is not None:
        message += f" The quota resets at {exc.resets_at:%Y-%m-%d %H:%M} UTC."
    if then:
        message += f" {then}"
    code = exc.code or f"HTTP_{exc.status}"
    _fail_with(code, message, EXIT_QUOTA if isinstance(exc, QuotaError) else EXIT_ERROR)


def _fail_with(code: str, message: str, exit_code: int) -> NoReturn:
    typer.echo(f"error {code}: {message}", err=True)
    raise typer.Exit(exit_code)


def register(app: typer.Typer) -> None:
    """Mount ``kliqs shorten`` on the root ``kliqs`` command."""
    app.command("shorten")(shorten)
