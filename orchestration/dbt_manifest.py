"""Keep dbt's manifest (and MetricFlow's semantic manifest) in step with the project files."""

import subprocess

from orchestration.defs.resources import DBT_EXECUTABLE, DBT_PROJECT_DIR

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"


def manifest_is_stale() -> bool:
    """A manifest older than any project file would describe models that no longer exist."""
    if not MANIFEST.exists():
        return True
    built = MANIFEST.stat().st_mtime
    sources = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    for folder in ("models", "macros", "seeds", "tests"):
        sources += [p for p in (DBT_PROJECT_DIR / folder).rglob("*") if p.is_file()]
    return any(p.stat().st_mtime > built for p in sources)


def ensure_manifest() -> None:
    if manifest_is_stale():
        subprocess.run(
            [DBT_EXECUTABLE, "parse", "--profiles-dir", str(DBT_PROJECT_DIR), "--quiet"],
            cwd=DBT_PROJECT_DIR,
            check=True,
        )
