"""Dagster's SQLite event log, one engine per database file instead of one per event.

A night writes some 600 Dagster events (every dbt model and test planned, then done) and the
stock storage builds a SQLAlchemy engine and opens a SQLite connection for each, and for every
asset-check event asks the index database whether the check table exists: 14 s of CPU of a
small night. Here each database file keeps one connection, used under the storage's own lock,
and the table question is answered once. Same files, same schema: the Dagster UI and daemon read
them as always.

Each event is its own transaction, and SQLite's default makes every commit wait for the disk
(3,200 commits a small night, 4 ms each on these machines, far more while other processes
write). In WAL mode, which Dagster sets on these files, `synchronous = NORMAL` waits only at
checkpoints: a killed process loses nothing, a power cut may lose the last events but never
leaves a damaged file. The run's outcome is not kept here alone (the run report, the
warehouse's own ledger)."""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._core.storage.sql import create_engine
from sqlalchemy import event
from sqlalchemy.pool import StaticPool


class ReusingSqliteEventLogStorage(SqliteEventLogStorage):
    @classmethod
    def from_config_value(cls, inst_data, config_value) -> "ReusingSqliteEventLogStorage":
        return cls(inst_data=inst_data, **config_value)

    @cached_property
    def _engines(self) -> dict:
        return {}

    def _engine(self, shard: str):
        if shard not in self._engines:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                poolclass=StaticPool,
                # One connection per file, only ever used under self._db_lock.
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            event.listen(engine, "connect", _commit_without_waiting_for_the_disk)
            self._engines[shard] = engine
        return self._engines[shard]

    @contextmanager
    def _connect(self, shard: str) -> Iterator:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    @cached_property
    def _has_asset_check_table(self) -> bool:
        return super().supports_asset_checks()

    def supports_asset_checks(self) -> bool:
        # The schema changes only by `dagster instance migrate`, never during a run.
        return self._has_asset_check_table

    def dispose(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()
        super().dispose()


def _commit_without_waiting_for_the_disk(dbapi_connection, _record) -> None:
    dbapi_connection.execute("pragma synchronous = normal")
