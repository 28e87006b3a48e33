"""Saleor's .graphql documents validate against the bundled Saleor schema subset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from integrations.saleor.graphql import SALEOR_DOCUMENTS, load_document
from integrations.shopify.graphql import DocumentError

EXPECTED = {
    "ProductEvents": "subscription",
    "ProductForShortlink": "query",
    "UpdateShortlinkMetadata": "mutation",
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_saleor_document_validates_against_saleor_schema(name: str) -> None:
    document = load_document(name)
    assert document.operation == EXPECTED[name]
    assert document.path.parent == SALEOR_DOCUMENTS.directory


def test_folder_holds_exactly_the_expected_documents() -> None:
    assert SALEOR_DOCUMENTS.names() == tuple(sorted(EXPECTED))
    assert [d.name for d in SALEOR_DOCUMENTS.load_all()] == sorted(EXPECTED)


def test_update_metadata_uses_errors_not_deprecated_metadata_errors() -> None:
    source = load_document("UpdateShortlinkMetadata").source
    assert "updateMetadata(id: $id, input: $input)" in source
    assert "errors {" in source and "metadataErrors" not in source


def test_typo_fails_validation_with_suggestion() -> None:
    with pytest.raises(DocumentError) as caught:
        SALEOR_DOCUMENTS.check(
            "mutation Bad($id: ID!) { updateMetadata(id: $id, input: []) "
            "{ errors { feild } } }",
            name="Bad",
        )
    assert "Cannot query field 'feild' on type 'MetadataError'. Did you mean 'field'?" in str(
        caught.value
    )


def test_shopify_documents_do_not_validate_against_saleor_schema() -> None:
    from integrations.shopify.graphql import SHOPIFY_DOCUMENTS

    source = SHOPIFY_DOCUMENTS.load("SetShortlink").source
    with pytest.raises(DocumentError, match="Unknown type 'MetafieldsSetInput'"):
        SALEOR_DOCUMENTS.check(source, name="SetShortlink")


def test_webhook_fixtures_have_the_shape_the_subscription_selects() -> None:
    fixtures = Path(__file__).parent / "fixtures"
    source = load_document("ProductEvents").source
    for name in ("product_created.json", "product_updated.json"):
        product = json.loads((fixtures / name).read_text())["product"]
        for field in product:
            assert field in source, f"{name}: {field} is not selected by ProductEvents"
