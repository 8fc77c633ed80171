"""dbt's parse ahead of the build (orchestration/dbt_targets.py): its state becomes the home's
only when the parse succeeded, and nothing of it is left behind either way."""

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import orchestration.dbt_targets
from orchestration.dbt_targets import PARTIAL_PARSE, finish_parse_ahead, start_parse_ahead


@dataclass
class Invocation:
    process: subprocess.Popen
    target_path: Path


class FakeDbt:
    """Stands in for the dbt resource: a process that writes a parse state, or fails, or hangs,
    and a log longer than a pipe holds."""

    def __init__(self, outcome: str):
        self.outcome = outcome

    def cli(self, args, raise_on_error, target_path):
        assert args == ["parse"] and raise_on_error is False
        if self.outcome == "unstartable":
            raise FileNotFoundError("dbt")
        state = target_path / PARTIAL_PARSE
        seeded = state.read_text() if state.exists() else ""
        script = {
            "parsed": f"open({str(state)!r}, 'w').write('new after ' + {seeded!r}); "
            "print('x' * 200_000)",
            "failed": "print('x' * 200_000); raise SystemExit(2)",
            "hangs": "import time; time.sleep(60)",
        }[self.outcome]
        process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
        return Invocation(process, target_path)


def test_a_successful_parse_becomes_the_homes_state_seeded_from_the_last(tmp_path):
    dbt_path = tmp_path / "dbt"
    dbt_path.mkdir()
    (dbt_path / PARTIAL_PARSE).write_text("old")
    (dbt_path / "parse-ahead-killed").mkdir()
    parse = start_parse_ahead(FakeDbt("parsed"), dbt_path)
    assert finish_parse_ahead(parse, dbt_path) is True
    assert (dbt_path / PARTIAL_PARSE).read_text() == "new after old"
    assert sorted(p.name for p in dbt_path.iterdir()) == [PARTIAL_PARSE]


def test_a_failed_hanging_or_unstartable_parse_leaves_the_homes_state_as_it_was(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(orchestration.dbt_targets, "PARSE_AHEAD_WAIT_SECONDS", 1)
    dbt_path = tmp_path / "dbt"
    dbt_path.mkdir()
    (dbt_path / PARTIAL_PARSE).write_text("old")
    for outcome in ("failed", "hangs", "unstartable"):
        parse = start_parse_ahead(FakeDbt(outcome), dbt_path)
        assert finish_parse_ahead(parse, dbt_path) is False
        assert parse is None if outcome == "unstartable" else parse.process.returncode is not None
        assert (dbt_path / PARTIAL_PARSE).read_text() == "old"
        assert sorted(p.name for p in dbt_path.iterdir()) == [PARTIAL_PARSE]
