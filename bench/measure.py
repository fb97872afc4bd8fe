"""Running one benchmark process and summarizing repeated measurements.

Each process is waited for with ``os.wait4``, so its own resource usage (user
and system CPU seconds, minor and major page faults, peak RSS) is recorded
next to its wall time and the machine's load average when it started. Those
figures tell a reader which regime a machine is in: a page-fault storm shows
as millions of minor faults and a large share of system time.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import tempfile
import time


@dataclasses.dataclass
class Process:
    """What one finished process printed and what it cost."""

    output: str
    wall_s: float
    user_s: float
    sys_s: float
    minor_faults: int
    major_faults: int
    peak_rss_mib: float
    load_before: tuple[float, float, float]

    def usage(self) -> dict:
        """The cost figures, rounded, without the output."""
        return {
            "wall_s": round(self.wall_s, 2),
            "user_s": round(self.user_s, 2),
            "sys_s": round(self.sys_s, 2),
            "minor_faults": self.minor_faults,
            "major_faults": self.major_faults,
            "peak_rss_mib": round(self.peak_rss_mib, 1),
            "load_before": [round(x, 2) for x in self.load_before],
        }


def run_process(cmd: list[str], cwd: str, env: dict | None = None, label: str = "") -> Process:
    """Run ``cmd`` to completion; raise SystemExit with its output's tail when it fails.

    ``env`` is laid over this process's environment; a None value removes that variable.
    """
    print(f"[bench] {label}: {' '.join(cmd)}", file=sys.stderr, flush=True)
    child_env = {**os.environ, **(env or {})}
    child_env = {k: v for k, v in child_env.items() if v is not None}
    load = os.getloadavg()
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=child_env, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if code != 0:
        raise SystemExit(f"[bench] {label} failed (exit {code}):\n{text[-3000:]}")
    return Process(
        text, wall, usage.ru_utime, usage.ru_stime, usage.ru_minflt, usage.ru_majflt, usage.ru_maxrss / 1024.0, load
    )


def median(values):
    """The median of a non-empty sequence of numbers."""
    values = sorted(values)
    if not values:
        raise ValueError("median of nothing")
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def spread(values) -> dict:
    """{"median", "min", "max", "n"} of the numbers in ``values`` (None entries dropped)."""
    values = [v for v in values if v is not None]
    if not values:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {"median": median(values), "min": min(values), "max": max(values), "n": len(values)}


def interleaved(sides: list[str], rounds: int) -> list[tuple[int, str]]:
    """The run order: every side once per round, in the given order, ``rounds`` times.

    With the reference first, a comparison runs reference, project, reference,
    project ...; a slow drift of the machine (another job starting, the CPU
    warming) then falls on both sides alike instead of on whichever ran last.
    """
    if rounds < 1 or not sides:
        raise ValueError("need at least one side and one round")
    return [(r, side) for r in range(rounds) for side in sides]
