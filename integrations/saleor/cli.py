"""``kliqs saleor subscription``: the query to paste when creating the webhook in Saleor.

The connector reads what this subscription selects (slug, metadata, channel listings); a webhook
registered with a smaller query is refused as ``UNUSABLE_PAYLOAD``. ``server/cli/plugins.py``
imports this module and calls :func:`register` on the root app.
"""

from __future__ import annotations

import typer

from .graphql import load_document

__all__ = ["register", "saleor_app", "subscription"]

saleor_app = typer.Typer(help="Saleor: what the connector needs from the shop.",
                         no_args_is_help=True)


@saleor_app.command()
def subscription() -> None:
    """Print the subscription query for PRODUCT_CREATED and PRODUCT_UPDATED webhooks."""
    typer.echo(load_document("ProductEvents").source.rstrip())
    typer.echo("\n# Events: PRODUCT_CREATED, PRODUCT_UPDATED. Target URL: "
               "https://<connector>/webhooks/saleor (no secret key: Saleor signs with JWS).",
               err=True)


def register(app: typer.Typer) -> None:
    """Mount ``kliqs saleor ...`` on the root ``kliqs`` command."""
    app.add_typer(saleor_app, name="saleor")
