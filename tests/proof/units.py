"""The systemd units of a stage's deploy/ folder, read as systemd reads them.

Parts 7 and 8 prove their units the same way (tests/test_part07_units.py,
tests/test_part08_units.py): ``systemd-analyze verify`` in a fake root, and
each ExecStart, read and expanded as systemd does (%H, %i), run for real in
a copy of the stage. These are the pieces they share; a folder defaults to
part 7's, where the units first appear.
"""

import shlex
import shutil
import socket
import subprocess

import pytest

from .paths import stage_dir
from .production import SERVER_PYTHON, STAGE

DEPLOY = stage_dir(STAGE) / "deploy"
INSTALL_HINT = "systemd-analyze is missing: apt-get install systemd"
ENV_FILE = "/etc/community/community.env"

# The template's instances the page starts.
INSTANCES = ("1", "2")

# systemd's defaults, for units that don't set their own
# (DefaultStartLimitBurst, DefaultStartLimitIntervalSec).
START_LIMIT_BURST = 5
START_LIMIT_INTERVAL_US = 10_000_000


def analyze(*args):
    if shutil.which("systemd-analyze") is None:
        pytest.skip(INSTALL_HINT)
    return subprocess.run(
        ["systemd-analyze", *args], capture_output=True, text=True, timeout=60
    )


def read_unit(path):
    """``{section: [(key, value), ...]}``, as systemd reads a unit file:
    comments skipped, a line ending in a backslash continued on the next."""
    sections = {}
    current = None
    pending = ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith(("#", ";"))):
            continue
        if pending and stripped.startswith(("#", ";")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        stripped, pending = pending + stripped, ""
        if stripped.startswith("[") and stripped.endswith("]"):
            current = sections.setdefault(stripped[1:-1], [])
            continue
        key, equals, value = stripped.partition("=")
        assert equals and current is not None, f"{path.name}: {line!r}"
        current.append((key.strip(), value.strip()))
    assert not pending, f"{path.name} ends in a continued line"
    return sections


def setting(unit, section, key):
    """The value of *key*: the last one, as systemd takes it; None if unset."""
    values = [v for k, v in unit.get(section, []) if k == key]
    return values[-1] if values else None


def unit_files(deploy=DEPLOY):
    return sorted(
        p.name for p in deploy.iterdir() if p.suffix in (".service", ".timer")
    )


def unit_names(deploy=DEPLOY):
    """What systemctl would be given: the template as its instances."""
    names = []
    for name in unit_files(deploy):
        if name.endswith("@.service"):
            names += [name.replace("@.", f"@{i}.") for i in INSTANCES]
        else:
            names.append(name)
    return names


def expand(text, instance=None):
    """The specifiers the units use: %H (host name), %i (instance), %%."""
    out = []
    i = 0
    while i < len(text):
        if text[i] != "%":
            out.append(text[i])
            i += 1
            continue
        spec = text[i + 1 : i + 2]
        if spec == "H":
            out.append(socket.gethostname())
        elif spec == "i":
            assert instance is not None, f"%i outside a template: {text!r}"
            out.append(instance)
        elif spec == "%":
            out.append("%")
        else:
            raise AssertionError(f"a specifier the proof does not expand: %{spec}")
        i += 2
    return "".join(out)


def exec_start(file_name, instance=None, deploy=DEPLOY):
    """The unit's ExecStart command line, split and expanded as systemd does."""
    unit = read_unit(deploy / file_name)
    line = setting(unit, "Service", "ExecStart")
    assert line, f"{file_name} has no ExecStart"
    return [expand(word, instance) for word in shlex.split(line)]


def worker_id(argv):
    return argv[argv.index("--worker-id") + 1]


def timespan_us(text):
    """A systemd time span (5s, 5min...) in microseconds, as systemd reads it."""
    done = analyze("timespan", text)
    assert done.returncode == 0 and not done.stderr, done.stdout + done.stderr
    [value] = [
        line.split(":", 1)[1].strip()
        for line in done.stdout.splitlines()
        if line.strip().startswith("μs:")
    ]
    return int(value)


def build_fake_root(root, deploy):
    """Fill *root* with what the units of *deploy* refer to, and them."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip(INSTALL_HINT)
    python = root / SERVER_PYTHON.lstrip("/")
    python.parent.mkdir(parents=True)
    python.write_text("#!/bin/sh\n")
    python.chmod(0o755)
    env_file = root / ENV_FILE.lstrip("/")
    env_file.parent.mkdir(parents=True)
    shutil.copy(deploy / "community.env.example", env_file)
    shutil.copytree(
        "/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True
    )
    units = root / "etc/systemd/system"
    units.mkdir(parents=True)
    for name in unit_files(deploy):
        shutil.copy(deploy / name, units / name)
    return root


def verify(root, name):
    done = analyze("verify", f"--root={root}", name)
    return done.returncode, (done.stdout + done.stderr).strip()


def unit_env(file_name, deploy=DEPLOY):
    """The unit's Environment= lines (the env file is the project's)."""
    unit = read_unit(deploy / file_name)
    env = {}
    for key, value in unit["Service"]:
        if key == "Environment":
            for word in shlex.split(value):
                name, _, val = word.partition("=")
                env[name] = val
    return env


def run_unit(project, file_name, instance=None, background=False, deploy=DEPLOY):
    """Run the unit's ExecStart in *project*, as systemd would run it."""
    argv = exec_start(file_name, instance, deploy)
    assert argv[0] == SERVER_PYTHON
    env = unit_env(file_name, deploy)
    if background:
        return project.start(*argv[1:], env=env)
    return project.run(*argv[1:], env=env)
