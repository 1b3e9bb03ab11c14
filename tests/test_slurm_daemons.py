"""The test session stops the SLURM daemons it started, and only those (issue 20, item 11): the start script's
report of what it started, and stopping a real process through its pid file."""
from __future__ import annotations

import subprocess
from pathlib import Path

from slurm_daemons import PID_FILES, started_daemons, stop_daemons


def test_only_the_daemons_the_start_script_started_are_stopped_in_order() -> None:
    assert started_daemons("") == []  # the script found the cluster up: it printed nothing, nothing is stopped
    out = "started munged\nstarted slurmctld\nnoise started slurmd\nstarted slurmd\nstarted rm -rf\n"
    assert started_daemons(out) == ["slurmd", "slurmctld", "munged"]  # slurmd before its controller, munge last


def test_a_daemon_is_stopped_through_its_pid_file(tmp_path: Path) -> None:
    daemon = subprocess.Popen(["sleep", "300"])
    pid_file = tmp_path / "slurmd.pid"
    pid_file.write_text(f"{daemon.pid}\n")
    try:
        assert stop_daemons(["slurmd"], {**PID_FILES, "slurmd": str(pid_file)}, timeout_s=10) == []
        assert daemon.wait(timeout=5) == -15
    finally:
        daemon.kill()
    problems = stop_daemons(["slurmctld"], {"slurmctld": str(tmp_path / "absent.pid")})
    assert len(problems) == 1 and problems[0].startswith("slurmctld: no pid to stop")


def test_the_start_script_says_what_it_starts() -> None:
    script = (Path(__file__).parent / "slurm" / "start_cluster.sh").read_text()
    assert {line.split('"')[1].split()[1] for line in script.splitlines() if 'echo "started ' in line} == \
        {"munged", "slurmctld", "slurmd"}
