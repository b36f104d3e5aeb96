"""The replay's servers at the addresses the page names (replay children only).

The replay runs the servers a page starts on free ports of 127.0.0.1, so
that a second run, or the contributor's own mail catcher or server, never
meets them. The reader's code still asks for the page's addresses
(``MAILERS`` sends to 127.0.0.1:1025). The replay therefore puts this folder
on ``PYTHONPATH`` of the processes it starts, and nowhere else; Python's
``site`` module imports ``sitecustomize`` at startup. With
``PROOF_CONNECT="1025=41735,8000=40211"`` in the environment, a connection
to 127.0.0.1:1025 goes to 127.0.0.1:41735 instead, and so on for each pair;
every other address is left alone.
"""

import os
import socket


def _pairs(text):
    ports = {}
    for pair in text.split(","):
        if "=" in pair:
            shown, real = pair.split("=", 1)
            ports[int(shown)] = int(real)
    return ports


_PORTS = _pairs(os.environ.get("PROOF_CONNECT", ""))


def _redirected(address):
    if (
        isinstance(address, tuple)
        and len(address) == 2
        and address[0] == "127.0.0.1"
        and address[1] in _PORTS
    ):
        return ("127.0.0.1", _PORTS[address[1]])
    return address


if _PORTS:
    _connect = socket.socket.connect
    _connect_ex = socket.socket.connect_ex

    def connect(self, address):
        return _connect(self, _redirected(address))

    def connect_ex(self, address):
        return _connect_ex(self, _redirected(address))

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex


def _load_the_next_sitecustomize():
    """This module hides any other ``sitecustomize``; run it as Python would."""
    import importlib.machinery
    import importlib.util
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    path = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


_load_the_next_sitecustomize()
