"""`make livehtml`, the README's first command, serves the site and says where.

The test runs the real target on a free port, with its output in a
temporary folder, waits for the home page and a part page, and stops it.
"""

import os
import shutil
import signal
import subprocess
import time
import urllib.request

from proof.paths import ROOT
from proof.processes import free_port, spawn


def fetch(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


def test_livehtml_serves_the_site(tmp_path):
    port = free_port()
    server = spawn(
        [shutil.which("make"), "-s", "livehtml", f"PORT={port}", f"BUILD={tmp_path}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        status, page = None, ""
        while time.monotonic() < deadline and server.poll() is None:
            try:
                status, page = fetch(f"http://127.0.0.1:{port}/")
                break
            except OSError:
                time.sleep(0.5)
        assert status == 200, "make livehtml did not serve the site"
        assert "Django Tasks" in page
        status, page = fetch(f"http://127.0.0.1:{port}/tutorial/part01.html")
        assert status == 200 and "Part 1" in page
    finally:
        os.killpg(server.pid, signal.SIGINT)
        output, _ = server.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in output, output
