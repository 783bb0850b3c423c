"""A description of the machine the figures were measured on."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path


def _first_value(path: str, key: str) -> str | None:
    """The value of the first ``key: value`` line of a /proc file, if any."""
    try:
        text = Path(path).read_text()
    except OSError:
        return None
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == key:
            return value.strip()
    return None


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, or what :mod:`platform` knows."""
    return _first_value("/proc/cpuinfo", "model name") or platform.processor() or "unknown"


def memory_total() -> str:
    """Physical memory, in GiB."""
    value = _first_value("/proc/meminfo", "MemTotal")
    if value is None:
        return "unknown"
    return f"{int(value.split()[0]) / 1024 / 1024:.1f} GiB"


def filesystem_of(path: Path) -> str:
    """The filesystem type and device ``path`` lives on, from /proc/mounts."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return "unknown"
    target = str(path.resolve())
    best: tuple[str, str, str] | None = None
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        device, mount_point, kind = fields[0], fields[1], fields[2]
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and (best is None or len(mount_point) >= len(best[1])):
            best = (device, mount_point, kind)
    if best is None:
        return "unknown"
    return f"{best[2]} on {best[0]} (mounted at {best[1]})"


def source_revision(root: Path) -> str:
    """The git commit of the tree measured, noting uncommitted changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit} (with uncommitted changes)" if dirty else commit


def describe(data_dir: Path, root: Path) -> list[str]:
    """Markdown bullet lines: date, machine, Python, filesystem and source revision."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"- Date: {now}",
        f"- CPU: {cpu_model()}, {os.cpu_count()} cores",
        f"- Memory: {memory_total()}",
        f"- Kernel: {platform.system()} {platform.release()}",
        f"- Python: {platform.python_implementation()} {platform.python_version()}",
        f"- Filesystem of the data directory: {filesystem_of(data_dir)}",
        f"- Source: {source_revision(root)}",
    ]
