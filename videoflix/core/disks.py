"""The disk a folder is on, for the storage gauges and the service panel (both tiers): MEDIA_ROOT's for the web
tier, a worker's WORKER_SCRATCH."""

from __future__ import annotations

import shutil
from pathlib import Path


def disk_of(folder: Path):
    """`shutil.disk_usage` of the disk `folder` is on, read at its nearest existing folder (a scratch folder is
    made by the first job that needs it), or None when none can be read."""
    for candidate in (folder, *folder.parents):
        try:
            return shutil.disk_usage(candidate)
        except OSError:
            continue
    return None
