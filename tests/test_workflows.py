"""The CI and publishing configuration is valid, and safe, without a network.

check-jsonschema validates against the schemas it ships (GitHub workflows,
Read the Docs); zizmor audits the workflows for known weaknesses
(unpinned actions, credentials left in checkouts, broad permissions...).
"""

import subprocess
import sys
from pathlib import Path

import pytest

from proof.paths import ROOT

BIN = Path(sys.executable).parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def run(*command):
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_there_are_workflows():
    names = {path.name for path in WORKFLOWS}
    assert {"ci.yml", "docs.yml"} <= names


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_github_schema(path):
    done = run(
        str(BIN / "check-jsonschema"),
        "--builtin-schema",
        "vendor.github-workflows",
        str(path),
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_readthedocs_config_matches_schema():
    done = run(
        str(BIN / "check-jsonschema"),
        "--builtin-schema",
        "vendor.readthedocs",
        str(ROOT / ".readthedocs.yaml"),
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_finds_nothing():
    done = run(
        str(BIN / "zizmor"),
        "--offline",
        "--no-progress",
        str(ROOT / ".github" / "workflows"),
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_ci_matrix_covers_supported_versions():
    text = (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    for version in ('"3.12"', '"3.13"'):
        assert version in text, f"ci.yml's matrix lacks {version}"
    assert "make test\n" in text
    import variants

    for release in variants.load().releases.values():
        for python in release.pythons:
            entry = f'{{ release: "{release.version}", python: "{python}" }}'
            assert entry in text, f"ci.yml's release matrix lacks {entry}"
    assert "make test-release" in text
