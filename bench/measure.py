"""Timing and peak-memory sampling of a stage, including child processes."""

import json
import os
import platform
import subprocess
import threading
import time
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Stage:
    name: str
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    extra: dict = field(default_factory=dict)
    # CPU-seconds of the tree over the stage's seconds: 2.0 keeps both of the build machine's
    # cores busy; well under it, one core waits (on a single thread, a write, a spill).
    cores_busy: float = 0.0
    # (wall-clock time, tree RSS bytes, tree CPU-seconds so far) samples, to attribute memory and
    # CPU to parts of the stage.
    timeline: list[tuple[float, int, float]] = field(default_factory=list, repr=False)

    def peak_between(self, start: float, end: float) -> float:
        inside = [rss for at, rss, _ in self.timeline if start <= at <= end]
        return round(max(inside, default=0) / 2**20, 1)

    def cpu_between(self, start: float, end: float) -> tuple[float, float] | None:
        """CPU-seconds of the tree and wall-clock seconds between the first and the last sample
        inside `start` to `end`; None when fewer than two samples fall inside (a step shorter
        than the sampling period)."""
        inside = [(at, cpu) for at, _, cpu in self.timeline if start <= at <= end]
        if len(inside) < 2 or inside[-1][0] <= inside[0][0]:
            return None
        (first_at, first_cpu), (last_at, last_cpu) = inside[0], inside[-1]
        return last_cpu - first_cpu, last_at - first_at


def cores(spans: list[tuple[float, float] | None]) -> float | None:
    """Cores kept busy over the sampled spans together: their CPU-seconds over their seconds."""
    measured_spans = [span for span in spans if span is not None]
    seconds = sum(wall for _, wall in measured_spans)
    return round(sum(cpu for cpu, _ in measured_spans) / seconds, 2) if seconds else None


class _TreeSampler:
    """RSS and CPU-seconds of a process and its descendants. A child that has exited still
    counts its CPU-seconds (its last sample): the dbt subprocess ends inside its step.

    Listing the tree means reading every process's status on the machine (2.7 ms with 77
    processes), and the whole sample took 5.7 ms: every 50 ms that is 11 % of one of the build
    machine's two cores, taken from the night it measures. So the tree is listed every
    `RELIST_EVERY` samples and the members found are sampled in between (0.8 ms for ten): a
    child is counted from at most that many samples after it starts (0.2 s; none of the
    night's children does its work in its first fifth of a second)."""

    RELIST_EVERY = 4

    def __init__(self, process: psutil.Process, itself: bool):
        self.process, self.itself = process, itself
        self.cpu_seen: dict[tuple[int, float], float] = {}
        self.members: list[psutil.Process] = []
        self.samples = 0
        self.listings = 0

    def _members(self) -> list[psutil.Process]:
        if self.samples % self.RELIST_EVERY == 0:
            self.listings += 1
            # The same member keeps its Process object (psutil reads its start time once).
            known = {member: member for member in self.members}
            self.members = [
                known.get(child, child) for child in self.process.children(recursive=True)
            ]
        self.samples += 1
        return [self.process, *self.members] if self.itself else self.members

    def sample(self) -> tuple[int, float]:
        rss = 0
        for member in self._members():
            # A child may exit between listing and sampling.
            with suppress(psutil.Error), member.oneshot():
                rss += member.memory_info().rss
                times = member.cpu_times()
                self.cpu_seen[(member.pid, member.create_time())] = times.user + times.system
        return rss, sum(self.cpu_seen.values())

    def relisted(self) -> "_TreeSampler":
        """The next sample lists the tree again: the first and the last of a stage do."""
        self.samples = 0
        return self


@contextmanager
def measured(name: str, children_only: bool = False):
    """Time a block and sample the RSS of this process and its children every 50 ms; with
    `children_only`, of the children alone: a stage run as a subprocess (a night, a baseline)
    is measured without the benchmark's own process, which holds the generator's and the
    comparisons' leftovers (about 0.4 GB after generating 100,000 employees)."""
    stage = Stage(name)
    tree = _TreeSampler(psutil.Process(os.getpid()), itself=not children_only)
    rss, cpu_before = tree.relisted().sample()
    peak = [rss]
    done = threading.Event()

    def sample():
        while not done.wait(0.05):
            rss, cpu = tree.sample()
            peak[0] = max(peak[0], rss)
            stage.timeline.append((time.time(), rss, cpu))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        yield stage
    finally:
        stage.seconds = round(time.perf_counter() - started, 3)
        done.set()
        sampler.join()
        rss, cpu_after = tree.relisted().sample()
        stage.peak_rss_mb = round(max(peak[0], rss) / 2**20, 1)
        stage.cores_busy = round((cpu_after - cpu_before) / max(stage.seconds, 1e-3), 2)


def machine_facts() -> dict:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
    }


# Said after the commit of a run whose checkout differed from it: the numbers measured a change
# not yet committed (an A/B run before committing), not the commit.
UNCOMMITTED = "with uncommitted changes"


def run_facts(command: str, checkout: Path = RESULTS.parents[1]) -> dict:
    """What a size's numbers came from: a results page may combine sizes from several runs."""

    def git(*arguments: str) -> str:
        return subprocess.run(
            ["git", *arguments], cwd=checkout, capture_output=True, text=True, check=False
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD")
    # Result pages are what a run writes, not what it ran.
    changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/results")
    if commit and changed:
        commit = f"{commit} ({UNCOMMITTED})"
    return {"date": time.strftime("%Y-%m-%d"), "commit": commit or None, "command": command}


def write_results(name: str, payload: dict, markdown: str) -> Path:
    """`<name>.json` and `<name>.md`, committed beside the code they measured."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown)
    return path


def read_results(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text())


def as_dict(stage: Stage) -> dict:
    result = asdict(stage)
    result.pop("timeline")
    return result
