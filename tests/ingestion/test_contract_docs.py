from ingestion.contract_docs import DOC_PATH, render
from ingestion.registry import EXTRACTS


def test_the_published_contract_page_is_rendered_from_the_code():
    assert DOC_PATH.read_text() == render(), "run `make docs` and commit docs/extracts.md"


def test_every_column_and_alias_is_documented():
    page = render()
    for spec in EXTRACTS:
        for column in spec.columns:
            assert f"`{column.name}`" in page
            for alias in column.aliases:
                assert f"`{alias}`" in page
