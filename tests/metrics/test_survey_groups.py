"""The survey publisher's groups: every org unit with its subtree, split by HR attribute in
confidential waves, and which of them anonymity suppresses (metrics/survey.py)."""

import polars as pl

from metrics.survey import anonymity_flags, build_groups

PARENT = {"root": None, "a": "root", "b": "root"}


def flags(respondents: dict[tuple[str, str], float]) -> dict[tuple, str | None]:
    """Suppression reasons of a wave whose respondents per (unit, job family) are given."""
    cells = pl.DataFrame(
        {
            "wave_id": "w1",
            "anonymity": "confidential",
            "org_unit": [unit for unit, _ in respondents],
            "job_family": [family for _, family in respondents],
            **{a: None for a in ("tenure_band", "age_band", "contract_type", "manager")},
            "respondents": list(respondents.values()),
        },
        schema_overrides={a: pl.String for a in ("tenure_band", "age_band", "contract_type",
                                                 "manager")},
    )  # fmt: skip
    groups = build_groups(cells, PARENT, ["respondents"])
    result = anonymity_flags(groups, PARENT, min_group_size=5)
    return {
        (row["org_unit_id"], row["attribute_value"]): row["suppression_reason"]
        for row in result.iter_rows(named=True)
        if row["is_suppressed"]
    }


def test_a_small_split_and_what_would_reveal_it_are_suppressed():
    suppressed = flags({("a", "x"): 6, ("a", "y"): 2, ("b", "x"): 7, ("b", "y"): 9})
    # a/y has 2 respondents. a/x (6) = a (8) - a/y would reveal it; b/y (9) = root/y (11) - a/y.
    assert suppressed == {
        ("a", "y"): "fewer than 5 respondents",
        ("a", "x"): "complementary: would reveal 2 respondents of ('a', 'all', None)",
        ("b", "y"): "complementary: would reveal 2 respondents of ('root', 'job_family', 'y')",
    }


def test_large_enough_groups_are_all_shown():
    assert flags({("a", "x"): 6, ("a", "y"): 5, ("b", "x"): 7, ("b", "y"): 9}) == {}
