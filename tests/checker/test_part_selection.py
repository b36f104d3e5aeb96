"""`make test PART=N` runs the proof of part N, and only that."""

import os
import re
import subprocess
import sys

from proof.paths import ROOT


def collect(part):
    env = {**os.environ, "PROOF_PART": part}
    env.pop("PROOF_STAGE", None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", "tests/pytest.ini"]
        + ["-p", "no:cacheprovider", "--collect-only", "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    ids = [line for line in done.stdout.splitlines() if "::" in line]
    return done, ids


def test_part_1_collects_its_replay_its_stage_and_its_worker_tests():
    # Part 1 runs on every supported Django (parts 2 on need 6.1).
    done, ids = collect("1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "test_parts.py::test_replay[1]" in ids
    assert "test_stages.py::test_verification_tests[1]" in ids
    assert any(i.startswith("test_part01_worker.py::") for i in ids)
    # Every other test carries the part as a parameter: [1] or [1-...].
    number = re.compile(r"\[(?:[^\]]*-)?1(?:-[^\]]*)?\]$")
    strangers = [
        i for i in ids if not i.startswith("test_part01_") and not number.search(i)
    ]
    assert not strangers, strangers


def test_a_part_without_tests_or_a_word_is_refused():
    done, _ = collect("42")
    assert done.returncode != 0
    assert "no test proves part 42" in done.stdout + done.stderr
    done, _ = collect("three")
    assert done.returncode != 0
    assert "give a part number" in done.stdout + done.stderr
