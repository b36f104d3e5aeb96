"""The replay's servers never meet another run's, or the contributor's own.

A page names fixed addresses: ``runserver`` on 127.0.0.1:8000, and
``python -m aiosmtpd -n -l 127.0.0.1:1025`` where the stages' ``MAILERS``
send. The replay runs those servers on ports it reserves, and its child
Python processes reach them at the page's addresses (see the stand-ins in
docs/project/testing.md). These tests hold 127.0.0.1:1025 themselves, the
way a mail catcher would, unless something already does.
"""

import errno
import socket
import subprocess
from contextlib import contextmanager

import pytest
from checker.pages import page_block

from proof.processes import port_holder, reserve_port
from proof.replay import SMTP_PORT, Replay, ReplayError


@contextmanager
def something_on(port):
    """A listener on 127.0.0.1:*port*: ours, or whatever already holds it."""
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        s.listen()
        s.setblocking(False)
        yield s
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        yield None
    finally:
        s.close()


def nobody_called(listener):
    if listener is None:
        return True
    try:
        listener.accept()[0].close()
    except BlockingIOError:
        return True
    return False


def child(replay, code):
    return subprocess.run(
        ["python", "-c", code],
        cwd=replay.cwd,
        env=replay.env,
        capture_output=True,
        text=True,
        timeout=60,
    )


CONNECT = (
    "import socket\n"
    "with socket.create_connection(('127.0.0.1', {port}), timeout=5) as s:\n"
    "    print(s.getpeername()[1])\n"
)


def test_a_child_reaches_the_replays_port_for_the_pages_address(tmp_path):
    (tmp_path / "work").mkdir()
    replay = Replay(1, [], tmp_path / "work")
    real = replay.ports[SMTP_PORT]
    # A server on the reserved port, as aiosmtpd binds it.
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    elsewhere = socket.socket()
    try:
        with something_on(SMTP_PORT) as catcher:
            server.bind(("127.0.0.1", real))
            server.listen()
            elsewhere.bind(("127.0.0.1", 0))
            elsewhere.listen()
            other = elsewhere.getsockname()[1]
            done = child(replay, CONNECT.format(port=SMTP_PORT))
            assert done.stdout.split() == [str(real)], done.stderr
            assert nobody_called(catcher)
            # Every other address is left alone.
            done = child(replay, CONNECT.format(port=other))
            assert done.stdout.split() == [str(other)], done.stderr
    finally:
        server.close()
        elsewhere.close()
        replay.close()


def test_before_the_page_starts_its_mail_server_sending_is_refused(tmp_path):
    """As for a reader whose mail server isn't running yet (part 3 relies on it)."""
    (tmp_path / "work").mkdir()
    replay = Replay(1, [], tmp_path / "work")
    try:
        with something_on(SMTP_PORT) as catcher:
            done = child(replay, CONNECT.format(port=SMTP_PORT))
            assert "ConnectionRefusedError" in done.stderr, done.stdout + done.stderr
            assert nobody_called(catcher)
    finally:
        replay.close()


def test_the_pages_mail_server_gets_the_mail_while_1025_is_taken(tmp_path):
    (tmp_path / "work").mkdir()
    replay = Replay(1, [], tmp_path / "work")
    send = (
        "$ python -c \"import smtplib; smtplib.SMTP('127.0.0.1', 1025).sendmail("
        "'a@example.com', ['b@example.com'], 'Subject: stand-in\\n\\nhello')\""
    )
    try:
        with something_on(SMTP_PORT) as catcher:
            replay.do_console(
                page_block(
                    tmp_path,
                    "$ python -m aiosmtpd -n -l 127.0.0.1:1025",
                    terminal="smtp",
                )
            )
            replay.do_console(page_block(tmp_path, send))
            smtp = replay.backgrounds["smtp"]
            assert smtp.settle([]) and "Subject: stand-in" in smtp.text(), smtp.text()
            assert nobody_called(catcher)
    finally:
        replay.close()


def test_reserved_ports_are_never_handed_out_as_free():
    with reserve_port() as reservation:
        port = reservation.getsockname()[1]
        with socket.socket() as s:
            with pytest.raises(OSError):
                s.bind(("127.0.0.1", port))
        for _ in range(2000):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                assert s.getsockname()[1] != port


def test_port_holder_names_the_process():
    import os

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert port_holder(port).startswith(f"process {os.getpid()} (")
    assert port_holder(port) is None


def test_a_server_on_a_port_the_replay_cannot_move_fails_at_once(tmp_path):
    import os

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        (tmp_path / "work").mkdir()
        replay = Replay(1, [], tmp_path / "work")
        try:
            with pytest.raises(ReplayError) as failure:
                replay.do_console(
                    page_block(tmp_path, f"$ python -m aiosmtpd -n -l 127.0.0.1:{port}")
                )
        finally:
            replay.close()
    message = str(failure.value)
    assert f"port {port} on 127.0.0.1 is taken by process {os.getpid()}" in message
    assert not replay.backgrounds, "nothing may start"


def test_a_mail_server_without_its_address_fails(tmp_path):
    """aiosmtpd's default address is a fixed port too; the page must name 1025."""
    (tmp_path / "work").mkdir()
    replay = Replay(1, [], tmp_path / "work")
    try:
        with pytest.raises(ReplayError, match="should name it: -l 127.0.0.1:1025"):
            replay.do_console(page_block(tmp_path, "$ python -m aiosmtpd -n"))
    finally:
        replay.close()


def test_a_server_that_stops_names_what_holds_its_port(tmp_path):
    """Should a program take the reserved port anyway, the failure says who."""
    import os

    (tmp_path / "work").mkdir()
    replay = Replay(1, [], tmp_path / "work")
    real = replay.ports[SMTP_PORT]
    intruder = socket.socket()
    try:
        intruder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        intruder.bind(("127.0.0.1", real))
        intruder.listen()
        with pytest.raises(ReplayError) as failure:
            replay.do_console(
                page_block(tmp_path, "$ python -m aiosmtpd -n -l 127.0.0.1:1025")
            )
    finally:
        intruder.close()
        replay.close()
    message = str(failure.value)
    assert "should keep running, but it stopped" in message
    assert f"Its port, 127.0.0.1:{real}, is held by process {os.getpid()} (" in message
