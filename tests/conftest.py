"""Suite-wide fixtures. Real network is off: any connection or name lookup that is not
to this machine fails the test that made it."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest

_LOCAL_NAMES = {"localhost", "127.0.0.1", "::1", "", None}
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


class NetworkBlockedError(RuntimeError):
    """A test tried to reach beyond 127.0.0.1."""


def _is_local(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check(sock: socket.socket, address: Any) -> None:
    if sock.family == getattr(socket, "AF_UNIX", None):
        return
    host = address[0] if isinstance(address, tuple) else address
    if not _is_local(host):
        raise NetworkBlockedError(f"tests may only connect to 127.0.0.1, not {address!r}")


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _check(self, address)
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _check(self, address)
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not _is_local(host):
        raise NetworkBlockedError(f"tests may not look up {host!r}; use 127.0.0.1")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True, scope="session")
def _no_network() -> Iterator[None]:
    mp = pytest.MonkeyPatch()
    mp.setattr(socket.socket, "connect", _guarded_connect)
    mp.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    mp.setattr(socket, "getaddrinfo", _guarded_getaddrinfo)
    yield
    mp.undo()


@pytest.fixture(autouse=True)
def _no_provider_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's real keys, endpoints or default model."""
    for name in list(os.environ):
        if name.endswith(("_API_KEY", "_BASE_URL")) or name in {"CONDUIT_MODEL", "OLLAMA_HOST"}:
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True, scope="session")
def _private_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Conduit's cache (verified-model stamps, ...) goes to a temporary folder."""
    mp = pytest.MonkeyPatch()
    mp.setenv("CONDUIT_CACHE_DIR", str(tmp_path_factory.mktemp("conduit-cache")))
    yield
    mp.undo()


@pytest.fixture(autouse=True, scope="session")
def _private_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The user's data (the usage ledger, history) goes to a temporary folder, never to
    the developer's own ~/.local/share/conduit."""
    mp = pytest.MonkeyPatch()
    mp.setenv("CONDUIT_DATA_DIR", str(tmp_path_factory.mktemp("conduit-data")))
    mp.delenv("CONDUIT_LEDGER", raising=False)
    yield
    mp.undo()


@pytest.fixture(autouse=True, scope="session")
def _private_config_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The user's settings, templates and stored keys come from a temporary folder,
    never from the developer's own ~/.config/conduit."""
    mp = pytest.MonkeyPatch()
    mp.setenv("CONDUIT_CONFIG_DIR", str(tmp_path_factory.mktemp("conduit-config")))
    yield
    mp.undo()
