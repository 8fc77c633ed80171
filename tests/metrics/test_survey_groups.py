"""The survey publisher's groups: every org unit with its subtree, split by HR attribute in
confidential waves, and which of them anonymity suppresses (metrics/survey.py)."""

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics.anonymity import Partition, suppress
from metrics.survey import ALL, ATTRIBUTES, anonymity_flags, build_groups

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


SPLITS = ("job_family", "tenure_band")


@st.composite
def waves(draw):
    """A random org tree and the respondents of two waves per unit and job family x tenure band
    (some unknown), the second wave anonymous."""
    units = [f"u{i}" for i in range(draw(st.integers(1, 8)))]
    parent = {unit: None if i == 0 else units[draw(st.integers(0, i - 1))]
              for i, unit in enumerate(units)}  # fmt: skip
    rows = []
    for wave_id, anonymity in (("w1", "confidential"), ("w2", "anonymous")):
        for unit in units:
            for family in ("f1", "f2", None):
                for band in ("t1", "t2"):
                    count = draw(st.integers(0, 9) | st.sampled_from([0, 0, 1, 2]))
                    if count:
                        rows.append((wave_id, anonymity, unit, family, band, float(count)))
    return parent, rows, draw(st.integers(3, 6))


def every_partition_and_pair(groups: pl.DataFrame, parent: dict, min_group_size: int):
    """What the publisher must respect, stated in full for every group (no candidates picked):
    each group split by the child units, each unit's whole split by each attribute, and every
    contained group against the same split and the whole of each unit above it and its own
    unit's whole. In the order anonymity_flags takes them."""
    order = [ALL, *ATTRIBUTES]
    children = {u: sorted(c for c, p in parent.items() if p == u) for u in parent}

    def ancestors(unit):
        while parent[unit] is not None:
            unit = parent[unit]
            yield unit

    reasons = {}
    for (wave_id,), wave in groups.group_by("wave_id"):
        rows = wave.iter_rows(named=True)
        sizes, direct = {}, {}
        for row in rows:
            key = (row["org_unit_id"], row["attribute"], row["attribute_value"])
            sizes[key], direct[key] = int(row["respondents"]), int(row["direct_respondents"])
        keys = sorted(sizes, key=lambda k: (k[0], order.index(k[1]), k[2] is not None, k[2] or ""))
        partitions = [
            Partition(key, tuple((c, *key[1:]) for c in children[key[0]] if (c, *key[1:]) in sizes),
                      direct[key])
            for key in keys
        ]  # fmt: skip
        for unit in sorted({k[0] for k in sizes}):
            for attribute in ATTRIBUTES:
                parts = tuple(k for k in keys if k[:2] == (unit, attribute))
                if parts:
                    unknown = sizes[(unit, ALL, None)] - sum(sizes[p] for p in parts)
                    partitions.append(Partition((unit, ALL, None), parts, unknown))
        nested = []
        for key in keys:
            unit, attribute, value = key
            for ancestor in ancestors(unit):
                nested += [(o, key) for o in ((ancestor, attribute, value), (ancestor, ALL, None))
                           if o in sizes]  # fmt: skip
            if attribute != ALL:
                nested.append(((unit, ALL, None), key))
        result = suppress(sizes, partitions, min_group_size, nested)
        reasons |= {(wave_id, *key): reason for key, reason in result.reasons.items()}
    return reasons


@settings(max_examples=150, deadline=None)
@given(waves())
def test_flags_equal_every_partition_and_pair_stated_in_full(wave_data):
    parent, rows, min_group_size = wave_data
    cells = pl.DataFrame(
        rows,
        schema={
            **{c: pl.String for c in ("wave_id", "anonymity", "org_unit", *SPLITS)},
            "respondents": pl.Float64,
        },
        orient="row",
    ).with_columns(pl.lit(None, pl.String).alias(a) for a in ATTRIBUTES if a not in SPLITS)
    groups = build_groups(cells, parent, ["respondents"])
    flags = anonymity_flags(groups, parent, min_group_size)
    actual = {
        (row["wave_id"], row["org_unit_id"], row["attribute"], row["attribute_value"]):
            row["suppression_reason"]
        for row in flags.iter_rows(named=True) if row["is_suppressed"]
    }  # fmt: skip
    assert flags.height == groups.height
    assert actual == every_partition_and_pair(groups, parent, min_group_size)
