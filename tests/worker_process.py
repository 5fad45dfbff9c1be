"""Run the real ``flask worker`` command as a child process, as production does."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent


def worker_env(app) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DATABASE_URL=app.config["DATABASE_URL"], REDIS_URL=app.config["REDIS_URL"],
               SECRET_KEY=app.config["SECRET_KEY"])
    return env


def start_worker(app, *args: str) -> subprocess.Popen:
    """A worker in its own process group, so a test can kill it together with its work horse."""
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker", *args], cwd=ROOT,
                            env=worker_env(app), start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def run_burst(app, timeout: float = 60) -> str:
    """``flask worker --burst``: drain the queues in a real worker process and return its log."""
    proc = start_worker(app, "--burst")
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out
    return out


def kill_hard(proc: subprocess.Popen) -> None:
    """SIGKILL the worker and everything it started: its work horse (which RQ puts in a process
    group of its own, so killing the worker's group would leave it running the job) and its cron.
    The tree is listed before anything dies, as an orphan is no longer anyone's child."""
    tree = psutil.Process(proc.pid).children(recursive=True)
    os.killpg(proc.pid, signal.SIGKILL)
    for child in tree:
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(tree, timeout=10)
    proc.wait(timeout=10)
