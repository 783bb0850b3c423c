"""The open-files limit of a server process, raised to what the system allows.

Each callback request in flight holds a socket, and a hanging endpoint keeps
its sockets for the whole callback timeout; an API holds one per client
connection and upload. Many systems start a process with a soft limit of
1,024 open files, well under what a busy worker needs, while allowing it to
raise its own limit much further (the hard limit).
"""

from __future__ import annotations

import resource

__all__ = ["WANTED_OPEN_FILES", "raise_open_files_limit"]

#: The soft limit this raises to at most, however high the hard limit is.
WANTED_OPEN_FILES = 65_536


def raise_open_files_limit() -> int:
    """Raise the soft limit on open files towards the hard limit (at most
    :data:`WANTED_OPEN_FILES`); never lower it. The soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    ceiling = WANTED_OPEN_FILES if hard == resource.RLIM_INFINITY else min(hard, WANTED_OPEN_FILES)
    if soft != resource.RLIM_INFINITY and soft < ceiling:
        resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))
        return ceiling
    return soft
