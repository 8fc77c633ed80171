"""Survey anonymity: an attacker who subtracts published figures never recovers a small group."""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics.anonymity import AnonymityConfigError, Partition, Suppression, suppress

ALL = "*"


@st.composite
def organisations(draw):
    """A random org tree, respondents per unit and attribute value, and a threshold."""
    units = draw(st.integers(1, 12))
    parents = [None] + [draw(st.integers(0, u - 1)) for u in range(1, units)]
    values = [f"v{i}" for i in range(draw(st.integers(1, 3)))]
    counts = {
        (u, v): draw(st.integers(0, 9) | st.sampled_from([0, 1, 2])) for u in range(units)
        for v in values
    }  # fmt: skip
    min_group_size = draw(st.integers(3, 6))
    return parents, values, counts, min_group_size


def published_structure(parents, values, counts):
    """Groups (unit subtree x filter) as sets of cells, and the partitions a publisher states."""
    children = {u: [c for c, p in enumerate(parents) if p == u] for u in range(len(parents))}

    def subtree(u):
        return [u] + [d for c in children[u] for d in subtree(c)]

    members = {}
    for u in range(len(parents)):
        for f in [ALL, *values]:
            members[(u, f)] = {
                (m, v) for m in subtree(u) for v in values if f in (ALL, v)
            }  # fmt: skip
    sizes = {g: sum(counts[c] for c in cells) for g, cells in members.items()}
    partitions = []
    for u in range(len(parents)):
        for f in [ALL, *values]:
            direct = sum(counts[(u, v)] for v in values if f in (ALL, v))
            partitions.append(Partition((u, f), tuple((c, f) for c in children[u]), direct))
        partitions.append(Partition((u, ALL), tuple((u, v) for v in values)))
    nested = [(a, b) for a, b in itertools.permutations(members, 2) if members[b] < members[a]]
    return members, sizes, partitions, nested


@settings(max_examples=3000, deadline=None)
@given(organisations())
def test_no_pair_of_published_figures_reveals_a_small_group(organisation):
    parents, values, counts, k = organisation
    members, sizes, partitions, nested = published_structure(parents, values, counts)
    hidden = suppress(sizes, partitions, k, nested).suppressed
    shown = [g for g in members if g not in hidden]
    for group in shown:
        assert sizes[group] >= k, group
    for a, b in itertools.permutations(shown, 2):
        if members[b] < members[a]:
            difference = len(members[a]) and sizes[a] - sizes[b]
            assert difference == 0 or difference >= k, (a, b, difference)


def full_passes(sizes, partitions, k, nested):
    """The rules applied by brute force, every partition and pair checked on every pass until
    nothing changes: what `suppress` must equal while it skips checks that cannot change."""
    result = Suppression()
    for group, size in sizes.items():
        if size < k:
            result.add(group, f"fewer than {k} respondents")
    changed = True
    while changed:
        changed = False
        for partition in partitions:
            hidden = partition.unpublished + sum(
                sizes[p] for p in partition.parts if p in result.suppressed
            )
            if hidden == 0 or hidden >= k:
                continue
            shown = sorted(
                (p for p in partition.parts if p not in result.suppressed and sizes[p] > 0),
                key=lambda p: (sizes[p], str(p)),
            )
            if shown:
                changed |= result.add(
                    shown[0],
                    f"complementary: would reveal {hidden} respondents of {partition.whole}",
                )
            else:
                changed |= result.add(
                    partition.whole, f"complementary: its only parts are suppressed ({hidden})"
                )
        for outer, inner in nested:
            if outer in result.suppressed or inner in result.suppressed:
                continue
            difference = sizes[outer] - sizes[inner]
            if 0 < difference < k:
                changed |= result.add(
                    inner, f"differencing: {outer} minus it leaves {difference} respondents"
                )
    return result


@settings(max_examples=1500, deadline=None)
@given(organisations())
def test_suppression_equals_checking_every_rule_on_every_pass(organisation):
    parents, values, counts, k = organisation
    members, sizes, partitions, nested = published_structure(parents, values, counts)
    expected = full_passes(sizes, partitions, k, nested)
    actual = suppress(sizes, partitions, k, nested)
    assert actual.suppressed == expected.suppressed
    assert actual.reasons == expected.reasons


def test_a_small_group_and_its_smallest_sibling_are_suppressed():
    sizes = {"root": 20, "a": 12, "b": 6, "c": 2}
    result = suppress(sizes, [Partition("root", ("a", "b", "c"))], 5)
    assert result.suppressed == {"c", "b"}
    assert "fewer than 5" in result.reasons["c"] and "complementary" in result.reasons["b"]


def test_direct_members_of_a_unit_count_as_a_hidden_part():
    sizes = {"unit": 14, "team": 12}
    result = suppress(sizes, [Partition("unit", ("team",), unpublished=2)], 5)
    assert result.suppressed == {"team"}


def test_the_threshold_cannot_go_below_three():
    with pytest.raises(AnonymityConfigError, match="below 3"):
        suppress({"a": 10}, [], 2)
