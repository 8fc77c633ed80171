"""Keep dbt's manifest (and MetricFlow's semantic manifest) in step with the project files."""

import functools
import json
import subprocess
from pathlib import Path

from orchestration.project import DBT_EXECUTABLE, DBT_PROJECT_DIR

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"


def manifest_is_stale(project_dir: Path = DBT_PROJECT_DIR) -> bool:
    """A manifest older than any project file would describe models that no longer exist."""
    manifest = project_dir / "target" / "manifest.json"
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = [project_dir / "dbt_project.yml", project_dir / "profiles.yml"]
    for folder in ("models", "macros", "seeds", "tests"):
        sources += [p for p in (project_dir / folder).rglob("*") if p.is_file()]
    return any(p.stat().st_mtime > built for p in sources)


def ensure_manifest(project_dir: Path = DBT_PROJECT_DIR) -> None:
    if manifest_is_stale(project_dir):
        subprocess.run(
            [DBT_EXECUTABLE, "parse", "--profiles-dir", str(project_dir), "--quiet"],
            cwd=project_dir,
            check=True,
        )


@functools.cache
def load_manifest(project_dir: Path = DBT_PROJECT_DIR) -> dict:
    """The manifest, parsed again first if a project file is newer; one per process. Every
    definition built from it (the assets, the quality gate's check specs) and every step that
    reads it at run time must see the same models: found when the gate's checks had been declared
    from a stale manifest (a definitions module read it before another one parsed the project)
    and its run read the fresh one."""
    ensure_manifest(project_dir)
    return json.loads((project_dir / "target" / "manifest.json").read_text())
