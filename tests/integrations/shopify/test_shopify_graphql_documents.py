"""The bundled .graphql documents: each validates against its schema; broken ones fail clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from integrations.shopify.graphql import (
    SHOPIFY_DOCUMENTS,
    DocumentError,
    DocumentSet,
    load_document,
)

EXPECTED = {
    "ActiveProductsCount": "query",
    "ProductForShortlink": "query",
    "ProductsWithoutShortlink": "query",
    "SetShortlink": "mutation",
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_shopify_document_validates_against_admin_schema(name: str) -> None:
    document = load_document(name)
    assert document.name == name
    assert document.operation == EXPECTED[name]
    assert f"{document.operation} {name}" in document.source


def test_folder_holds_exactly_the_expected_documents() -> None:
    assert SHOPIFY_DOCUMENTS.names() == tuple(sorted(EXPECTED))
    assert [d.name for d in SHOPIFY_DOCUMENTS.load_all()] == sorted(EXPECTED)


def test_documents_are_parsed_once_and_cached() -> None:
    assert load_document("SetShortlink") is load_document("SetShortlink")


def test_set_shortlink_selects_user_errors_with_code() -> None:
    source = load_document("SetShortlink").source
    assert "metafieldsSet(metafields: $metafields)" in source
    assert "userErrors" in source and "code" in source


def test_typo_in_field_fails_validation_naming_file_field_and_line(tmp_path: Path) -> None:
    _copy_schema(tmp_path)
    (tmp_path / "Broken.graphql").write_text(
        "query Broken($id: ID!) {\n  product(id: $id) {\n    titel\n  }\n}\n"
    )
    with pytest.raises(DocumentError) as caught:
        DocumentSet(tmp_path).load("Broken")
    message = str(caught.value)
    assert "Broken.graphql is not valid" in message
    assert "Cannot query field 'titel' on type 'Product'" in message
    assert "Did you mean 'title'?" in message
    assert "line 3, column 5" in message


def test_wrong_argument_type_fails_validation() -> None:
    with pytest.raises(DocumentError, match=r"expecting type .\[MetafieldsSetInput!\]!"):
        SHOPIFY_DOCUMENTS.check(
            "mutation Bad($m: MetafieldsSetInput!) { metafieldsSet(metafields: $m) "
            "{ userErrors { message } } }",
            name="Bad",
        )


def test_unparsable_document_reports_syntax_error() -> None:
    with pytest.raises(DocumentError, match=r"does not parse: Syntax Error.*line 1"):
        SHOPIFY_DOCUMENTS.check("query Oops { product(id: ", name="Oops")


def test_operation_name_must_match_file_name() -> None:
    with pytest.raises(DocumentError, match="must define operation 'Expected', found 'Other'"):
        SHOPIFY_DOCUMENTS.check("query Other { shop { name } }", name="Expected")


def test_document_must_hold_a_single_operation() -> None:
    with pytest.raises(DocumentError, match="exactly one operation, found 2"):
        SHOPIFY_DOCUMENTS.check("query A { shop { name } } query B { shop { name } }", name="A")


def test_unknown_document_lists_known_names() -> None:
    with pytest.raises(DocumentError, match=r"no GraphQL document 'Nope'.*SetShortlink"):
        load_document("Nope")


def test_document_name_cannot_escape_the_folder() -> None:
    with pytest.raises(DocumentError, match="invalid GraphQL document name"):
        load_document("../saleor/graphql/UpdateShortlinkMetadata")


def test_broken_schema_is_reported(tmp_path: Path) -> None:
    (tmp_path / "schema.graphql").write_text("type Query { x: Missing }")
    (tmp_path / "Q.graphql").write_text("query Q { x }")
    with pytest.raises(DocumentError, match="cannot build schema"):
        DocumentSet(tmp_path).load("Q")


def _copy_schema(target: Path) -> None:
    (target / "schema.graphql").write_text(SHOPIFY_DOCUMENTS.schema_path.read_text())
