"""A worker's lower CPU priority, so that on a shared machine webhook answers come first.

``nice`` alone is not enough on Linux: with the kernel's autogroup scheduling (on by default
on desktop and many server kernels) CPU time is first shared equally between *sessions*,
and ``nice`` only orders the processes inside one. A worker started in a session of its own
(its own terminal, a supervisor that calls ``setsid``) would then compete with the web
process as an equal whatever its ``nice``. Such a worker also lowers its autogroup's
priority. Under systemd, where each service has its own cgroup, ``CPUWeight=`` is the knob.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

#: The calling process' autogroup ("/autogroup-25463 nice 0"); absent without autogroups.
AUTOGROUP = Path("/proc/self/autogroup")
MAX_NICE = 19


def lower_cpu_priority(levels: int, *, autogroup: Path = AUTOGROUP) -> None:
    """Run this process (and what it starts from now on) ``levels`` nice levels lower.

    If it leads its own session, its autogroup is lowered by as much. Failing to do that
    (no autogroups, no permission) is logged and otherwise ignored: it is a preference.
    """
    if levels <= 0:
        return
    os.nice(levels)
    if os.getsid(0) != os.getpid():
        return  # the session is someone else's (a shell, `kliqs up`): not ours to lower
    try:
        current = int(autogroup.read_text().rsplit("nice", 1)[1])
        autogroup.write_text(str(min(MAX_NICE, current + levels)))
    except (OSError, IndexError, ValueError) as error:
        log.debug("autogroup priority unchanged: %s", error)
