"""HTTP to merchant-supplied URLs without reaching our own network (SSRF).

The check happens where the socket is opened: the host name is resolved once, every address is
vetted, and the connection goes to a vetted address, so a DNS answer that changes between a check
and the connect (DNS rebinding) cannot slip a private address through. Redirects are never
followed, and proxies from the environment are ignored.
"""

from __future__ import annotations

import ipaddress
import socket
import threading

import httpcore
import httpx
from django.conf import settings


class BlockedAddress(httpx.ConnectError):
    """The URL's host is (or resolves to) an address we must not call."""


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def vetted_addresses(host: str, port: int, *, allow_private: bool) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise httpx.ConnectError(f"cannot resolve {host}: {error}") from error
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not allow_private:
        blocked = [a for a in addresses if not is_public(a)]
        if blocked:
            raise BlockedAddress(f"{host} resolves to a non-public address ({blocked[0]})")
    return addresses


class _GuardedBackend(httpcore.SyncBackend):
    def __init__(self, allow_private: bool):
        self.allow_private = allow_private

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        last_error: Exception | None = None
        for address in vetted_addresses(host, port, allow_private=self.allow_private):
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as error:
                last_error = error
        raise httpcore.ConnectError(str(last_error or f"cannot connect to {host}"))


def client(*, timeout: float | None = None, allow_private: bool | None = None) -> httpx.Client:
    """An httpx client that refuses non-public addresses (unless allowed) and follows no redirect."""
    if allow_private is None:
        allow_private = settings.ALLOW_PRIVATE_WEBHOOK_TARGETS
    transport = httpx.HTTPTransport(retries=0)
    transport._pool._network_backend = _GuardedBackend(allow_private)  # httpx exposes no parameter
    return httpx.Client(
        transport=transport,
        timeout=timeout if timeout is not None else settings.WEBHOOK_TIMEOUT_SECONDS,
        follow_redirects=False,
        trust_env=False,
    )


_clients: dict[tuple[bool, float], httpx.Client] = {}
_clients_lock = threading.Lock()


def shared_client() -> httpx.Client:
    """One client per process and setting: building httpx's TLS context costs ~150 ms, and kept-alive
    connections to a merchant were vetted when they were opened."""
    key = (settings.ALLOW_PRIVATE_WEBHOOK_TARGETS, float(settings.WEBHOOK_TIMEOUT_SECONDS))
    with _clients_lock:
        if key not in _clients:
            _clients[key] = client(allow_private=key[0], timeout=key[1])
        return _clients[key]
