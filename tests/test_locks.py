"""The cross-run lock's naming and its test for a dead holder (tasks/locks.py); the lock itself is exercised
against a Prefect server by tests/reliability/test_concurrent_runs.py and test_crash_resume.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tasks.locks import _process_gone, _this_process, lock_name


def test_lock_names_are_valid_limit_and_variable_names_and_unique_per_key():
    name = lock_name("dataset", 100001, "Brand / v1 & <co> 100%")
    assert re.fullmatch(r"[a-z0-9_-]+", name) and len(name) <= 255
    assert name.startswith("bria-lock-dataset-100001-brand-v1-co-100-")
    assert lock_name("dataset", 1, "Brand v1") != lock_name("dataset", 1, "brand v1")  # case counts
    assert len(lock_name("model", 1, 2, "x" * 500)) == len("bria-lock-model-") + 60 + 1 + 12  # capped


def test_a_holder_is_gone_only_when_its_process_here_no_longer_exists():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    alive = {**_this_process(), "pid": child.pid}
    assert not _process_gone(alive)
    child.kill()
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # dead, left unreaped
    assert _process_gone(alive)  # killed, not yet reaped: a zombie counts as gone
    child.wait()
    assert _process_gone(alive)
    assert not _process_gone({**alive, "host": "another-machine"})  # cannot tell: wait for the lease instead
    assert not _process_gone({**alive, "pidns": "pid:[1]"})  # another container's pids
    assert not _process_gone(_this_process())
