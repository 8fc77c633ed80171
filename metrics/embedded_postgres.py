"""The embedded PostgreSQL of a home (pgserver from PyPI: no root, no system package), for the
demo, tests and small installations. Production points PEOPLEMART_POSTGRES_DSN at a real server."""

import contextlib
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DATA_DIR = "postgres"


@contextmanager
def embedded_postgres(home: Path, keep_running: bool = False) -> Iterator[str]:
    """Start (or join) the server whose data lives in <home>/postgres; yield its DSN."""
    import pgserver

    # pgserver asks for a runtime folder that root sessions often lack; the home is as good.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(home))
    data = home / DATA_DIR
    data.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data, cleanup_mode=None if keep_running else "stop")
    try:
        yield server.get_uri()
    finally:
        if not keep_running:
            server.cleanup()


def stop_embedded_postgres(home: Path) -> None:
    """Stop the home's server if one runs (a crashed run may leave it behind)."""
    os.environ.setdefault("XDG_RUNTIME_DIR", str(home))
    import pgserver

    if not (home / DATA_DIR / "postmaster.pid").exists():
        return
    from pgserver._commands import pg_ctl

    server = pgserver.get_server(home / DATA_DIR, cleanup_mode=None)
    # pgserver stops a server when the last process using it lets go, and counts processes
    # killed with -9 as still using it: stop it directly.
    with contextlib.suppress(subprocess.CalledProcessError):  # stopped in the meantime
        pg_ctl(["-w", "stop", "-m", "fast"], pgdata=server.pgdata, user=server.system_user)
