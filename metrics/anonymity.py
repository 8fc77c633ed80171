"""Survey anonymity (KPIS.md, Engagement): which group figures may be published.

A figure for a group is shown only when the group has at least `min_group_size` respondents.
Differencing is closed off by complementary suppression over *partitions*: a shown group whose
respondents are split into parts (its child org units plus its own direct members, or its split
by job family, ...) must never let a reader subtract the shown parts from the whole and recover a
small remainder. For every partition of a shown whole, the parts that are not shown (suppressed,
or never published, like an org unit's direct members) must together have zero or at least
`min_group_size` respondents; if not, the smallest shown part is suppressed too, and if no part is
left to suppress, the whole is. Rules are applied until nothing changes.

On top of that, for every pair of shown groups where one contains the other (an org unit and a
unit below it, a unit and its part-timers), the difference must be zero or at least
`min_group_size`, or the contained group is suppressed: a suppressed group in between must not
be recoverable from a shown group with the same members further down.
"""

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field

DEFAULT_MIN_GROUP_SIZE = 5
FLOOR_MIN_GROUP_SIZE = 3


class AnonymityConfigError(ValueError):
    """A minimum group size below the floor the platform allows."""


def checked_min_group_size(value: int | None) -> int:
    size = DEFAULT_MIN_GROUP_SIZE if value is None else int(value)
    if size < FLOOR_MIN_GROUP_SIZE:
        raise AnonymityConfigError(
            f"min_group_size {size} is below {FLOOR_MIN_GROUP_SIZE}: survey figures for smaller "
            "groups identify people"
        )
    return size


def small_group_reason(min_group_size: int) -> str:
    return f"fewer than {min_group_size} respondents"


@dataclass(frozen=True)
class Partition:
    """`whole` splits into `parts` plus `unpublished` respondents that have no figure of their
    own (e.g. the direct members of an org unit that also has child units)."""

    whole: Hashable
    parts: tuple[Hashable, ...]
    unpublished: int = 0


@dataclass
class Suppression:
    suppressed: set[Hashable] = field(default_factory=set)
    reasons: dict[Hashable, str] = field(default_factory=dict)

    def add(self, group: Hashable, reason: str) -> bool:
        if group in self.suppressed:
            return False
        self.suppressed.add(group)
        self.reasons[group] = reason
        return True


def suppress(
    sizes: Mapping[Hashable, int],
    partitions: Iterable[Partition],
    min_group_size: int,
    nested: Iterable[tuple[Hashable, Hashable]] = (),
) -> Suppression:
    """The groups whose figures must not be published, with the reason for each.

    `nested` lists pairs (a, b) where group a contains every member of group b: two shown groups
    like that must differ by zero or at least `min_group_size` respondents, else b is suppressed.
    """
    min_group_size = checked_min_group_size(min_group_size)
    partitions = list(partitions)
    # A nested pair acts only when its (fixed) difference is small, and at most once: the pairs
    # that never can are left out (millions of them at 100,000 employees).
    nested = [
        (outer, inner) for outer, inner in nested
        if 0 < sizes[outer] - sizes[inner] < min_group_size
    ]  # fmt: skip
    result = Suppression()
    for group, size in sizes.items():
        if size < min_group_size:
            result.add(group, small_group_reason(min_group_size))
    # One pass over the partitions, then one over the pairs, gives what repeating both until
    # nothing changes would: every group suppressed by a rule was shown, so it has at least
    # `min_group_size` respondents, and adding that to a partition's hidden count can never bring
    # it below the threshold again; a pair acts at most once. (A property test compares the two.)
    for partition in partitions:
        hidden = partition.unpublished + sum(
            sizes[p] for p in partition.parts if p in result.suppressed
        )
        if hidden == 0 or hidden >= min_group_size:
            continue
        smallest_shown = min(
            (p for p in partition.parts if p not in result.suppressed and sizes[p] > 0),
            key=lambda p: (sizes[p], str(p)),
            default=None,
        )
        if smallest_shown is not None:
            result.add(
                smallest_shown,
                f"complementary: would reveal {hidden} respondents of {partition.whole}",
            )
        else:
            result.add(partition.whole, f"complementary: its only parts are suppressed ({hidden})")
    for outer, inner in nested:
        if outer not in result.suppressed and inner not in result.suppressed:
            result.add(
                inner,
                f"differencing: {outer} minus it leaves {sizes[outer] - sizes[inner]} respondents",
            )
    return result
