"""What the benchmark's results page says."""

from bench.run import warehouse_markdown


def test_the_warehouse_page_names_the_limit_and_judges_sixteen_gigabytes():
    build = {"name": "warehouse build", "seconds": 3600.0, "peak_rss_mb": 17000.0,
             "extra": {"duckdb_memory_limit": "10GB", "stages": []}}  # fmt: skip
    page = warehouse_markdown(
        [{"employees": 1_000_000, "warehouse_mb": 9000, "stages": [build]}], 10, "bench"
    )
    assert "| 1,000,000 | warehouse build (DuckDB limit 10GB) | 3600.0 | 17000.0 |" in page
    assert "1M x 10y warehouse build under 16 GB: **no** (17000.0 MB)" in page
