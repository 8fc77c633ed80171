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
    # (wall-clock time, tree RSS bytes) samples, to attribute memory to parts of the stage.
    timeline: list[tuple[float, int]] = field(default_factory=list, repr=False)

    def peak_between(self, start: float, end: float) -> float:
        inside = [rss for at, rss in self.timeline if start <= at <= end]
        return round(max(inside, default=0) / 2**20, 1)


def _tree_rss(process: psutil.Process, itself: bool = True) -> int:
    total = 0
    members = process.children(recursive=True)
    for member in [process, *members] if itself else members:
        with suppress(psutil.Error):  # a child may exit between listing and sampling
            total += member.memory_info().rss
    return total


@contextmanager
def measured(name: str, children_only: bool = False):
    """Time a block and sample the RSS of this process and its children every 50 ms; with
    `children_only`, of the children alone: a stage run as a subprocess (a night, a baseline)
    is measured without the benchmark's own process, which holds the generator's and the
    comparisons' leftovers (about 0.4 GB after generating 100,000 employees)."""
    stage = Stage(name)
    me = psutil.Process(os.getpid())
    itself = not children_only
    peak = [_tree_rss(me, itself)]
    done = threading.Event()

    def sample():
        while not done.wait(0.05):
            rss = _tree_rss(me, itself)
            peak[0] = max(peak[0], rss)
            stage.timeline.append((time.time(), rss))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        yield stage
    finally:
        stage.seconds = round(time.perf_counter() - started, 3)
        done.set()
        sampler.join()
        stage.peak_rss_mb = round(max(peak[0], _tree_rss(me, itself)) / 2**20, 1)


def machine_facts() -> dict:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
    }


def run_facts(command: str) -> dict:
    """What a size's numbers came from: a results page may combine sizes from several runs."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=RESULTS.parent,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
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
