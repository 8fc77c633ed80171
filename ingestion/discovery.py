"""Find deliveries under a landing folder: `<landing>/<source>/<delivery_id>/<entity>.<ext>`."""

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ingestion.registry import SOURCES

DELIVERY_ID = re.compile(r"^(\d{8})(T\d{6})?$")
MANIFEST = "manifest.json"


@dataclass
class Delivery:
    source: str
    delivery_id: str
    path: Path
    files: list[Path] = field(default_factory=list)
    manifest: dict | None = None
    manifest_error: str | None = None

    @property
    def sort_key(self) -> str:
        return delivery_sort_key(self.delivery_id)


@dataclass
class StrayFile:
    """A file outside any valid delivery folder: reported, never silently skipped."""

    path: Path
    reason: str


def delivery_sort_key(delivery_id: str) -> str:
    return delivery_id if "T" in delivery_id else f"{delivery_id}T000000"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def discover(landing: Path) -> tuple[list[Delivery], list[StrayFile]]:
    """Deliveries per source in processing order (delivery id ascending), plus stray files."""
    deliveries: list[Delivery] = []
    strays: list[StrayFile] = []
    if not landing.is_dir():
        raise FileNotFoundError(f"landing folder {landing} does not exist")
    for source_dir in sorted(p for p in landing.iterdir() if not p.name.startswith(".")):
        if source_dir.is_file():
            strays.append(StrayFile(source_dir, "file directly in the landing folder"))
            continue
        if source_dir.name.lower() not in SOURCES:
            strays += [
                StrayFile(
                    f, f"unknown source '{source_dir.name}' (expected one of {', '.join(SOURCES)})"
                )
                for f in _files(source_dir)
            ]
            continue
        for delivery_dir in sorted(source_dir.iterdir()):
            if delivery_dir.name.startswith("."):
                continue
            if delivery_dir.is_file() or not DELIVERY_ID.match(delivery_dir.name):
                reason = (
                    f"'{delivery_dir.name}' is not a delivery folder "
                    "(expected YYYYMMDD or YYYYMMDDTHHMMSS)"
                )
                strays += [StrayFile(f, reason) for f in _files(delivery_dir)]
                continue
            delivery = Delivery(source_dir.name.lower(), delivery_dir.name, delivery_dir)
            for path in sorted(delivery_dir.iterdir()):
                if path.name.startswith("."):
                    continue
                if path.is_dir():
                    strays += [
                        StrayFile(f, "nested folder inside a delivery") for f in _files(path)
                    ]
                elif path.name.lower() == MANIFEST:
                    delivery.manifest, delivery.manifest_error = _read_manifest(path)
                else:
                    delivery.files.append(path)
            deliveries.append(delivery)
    deliveries.sort(key=lambda d: (SOURCES.index(d.source), d.sort_key))
    return deliveries, strays


def _files(path: Path) -> list[Path]:
    return [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())


def _read_manifest(path: Path) -> tuple[dict | None, str | None]:
    try:
        content = json.loads(path.read_text(encoding="utf-8-sig"))
        files = content["files"]
        if not isinstance(files, dict):
            raise TypeError("'files' must be an object")
        return {name.lower(): entry for name, entry in files.items()}, None
    except (OSError, ValueError, KeyError, TypeError) as error:
        return None, f"manifest.json is unreadable ({error}); its files cannot be verified"
