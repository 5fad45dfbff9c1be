"""Where the server may call: every outbound HTTP request of the product goes through here.

Users and integrations set URLs the server will call (a channel's ``base_url``, a custom
channel's webhook, attachment and media URLs). Unchecked, that lets anyone with a form make the
server call its own Redis, the cloud's metadata service or the office network (SSRF). So a URL
is checked twice:

- **when set** (``check_url``): ``https`` only, and a host that resolves to a loopback, private,
  link-local, unique-local, multicast, reserved or cloud-metadata address is refused, so the
  person setting it hears at once;
- **when called** (``guarded_client``): DNS may answer differently by then, so the check runs
  again inside the connection itself. The host is resolved once, every address is checked, and
  the socket connects to a checked address; TLS still verifies the original hostname (SNI and
  the certificate), so pinning the address weakens nothing. A followed redirect is a new request
  through the same transport, so every hop is checked the same way.

The one way around it is the contract's ``INBOX_ALLOW_PRIVATE_URLS`` (hostnames or CIDRs, for
development, tests and a self-hosted provider on a private network), plus loopback in the demo.
Allowed hosts may also be called over plain ``http``.

``resolve`` is a module attribute so tests can stand in for DNS.
"""
from __future__ import annotations

import functools
import ipaddress
import os
import socket
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Cloud metadata services: on a public-looking range at some providers (Alibaba's 100.100.100.200
# sits in shared address space), so named explicitly as well as caught by the ranges.
METADATA = frozenset(ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200"))
NAT64 = ipaddress.ip_network("64:ff9b::/96")
DEMO_ALLOWED = ("127.0.0.0/8", "::1", "localhost")


class UnsafeURL(httpx.TransportError):
    """A URL the server refuses to call; the message is ours and names no answer from the target.

    A transport error, so code that already handles a failed call (``except httpx.HTTPError``)
    never lets it escape; code that can say more catches it first (``connectors.base.call``).
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class AllowList:
    """Hosts (by name) and networks the server may call although they are private."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """``["127.0.0.1", "localhost", "10.0.0.0/8"]``; ValueError names an entry that is neither."""
        hosts: set[str] = set()
        networks: list[Network] = []
        for entry in (e.strip() for e in entries):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                if "/" in entry or any(c.isspace() for c in entry):
                    raise ValueError(f"INBOX_ALLOW_PRIVATE_URLS: {entry!r} is neither a hostname nor a CIDR") from None
                hosts.add(entry.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, host: str) -> bool:
        """The host by name, or an address literal inside an allowed network."""
        host = host.lower().strip("[]").rstrip(".")
        if host in self.hosts:
            return True
        address = _literal(host)
        return address is not None and self.allows_address(address)

    def allows_address(self, address: Address) -> bool:
        candidates = [address] + ([address.ipv4_mapped] if _mapped(address) else [])
        return any(a in n for a in candidates for n in self.networks if a.version == n.version)


_allowed = AllowList()


def configure(allow_private: str | Iterable[str] = "", *, demo: bool = False) -> None:
    """Set the allow list (from ``create_app``, so the web app and ``flask worker`` both get it)."""
    global _allowed
    entries = allow_private.split(",") if isinstance(allow_private, str) else list(allow_private)
    _allowed = AllowList.parse([*entries, *(DEMO_ALLOWED if demo else ())])


def allowed() -> AllowList:
    return _allowed


def _system_resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError as exc:     # a label too long for IDNA: no such name
        raise OSError(f"{host!r} is not a valid name") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# Stands in for DNS in tests: (host, port) -> addresses; raises OSError when the name is unknown.
resolve: Callable[[str, int], list[str]] = _system_resolve


# -- the rules ------------------------------------------------------------------------------

def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _mapped(address: Address) -> bool:
    return isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None


def _embedded(address: Address) -> list[Address]:
    """The address and any IPv4 address it carries (mapped, NAT64, 6to4, Teredo)."""
    found: list[Address] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            found.append(address.ipv4_mapped)
        if address in NAT64:
            found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address.sixtofour is not None:
            found.append(address.sixtofour)
        if address.teredo is not None:
            found.append(address.teredo[1])
    return found


def is_forbidden(address: Address) -> bool:
    """Loopback, private, link-local, unique-local, multicast, unspecified, reserved, shared or
    metadata: anything but a public unicast address (IPv4 inside IPv6 judged as itself)."""
    return any(a in METADATA or a.is_loopback or a.is_private or a.is_link_local or a.is_multicast
               or a.is_unspecified or a.is_reserved or not a.is_global
               or (isinstance(a, ipaddress.IPv6Address) and a.is_site_local)
               for a in _embedded(address))


def _shown(host: str) -> str:
    return host if len(host) <= 100 else host[:100] + "…"


def checked_addresses(host: str, port: int, *, plain_http: bool = False) -> list[str]:
    """The addresses ``host`` may be reached at, resolved once and each checked; UnsafeURL if
    any is forbidden (a name with one bad address is refused whole: which one a client picks is
    not ours to choose). OSError when the name does not resolve."""
    host = host.strip("[]")
    by_name = _allowed.allows_host(host)
    literal = _literal(host)
    addresses = [str(literal)] if literal is not None else resolve(host, port)
    if not addresses:
        raise OSError(f"{host} has no address")
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if by_name or _allowed.allows_address(address):
            continue
        if is_forbidden(address):   # never the address itself: that would read out internal DNS
            verb = "is" if literal is not None else "resolves to"
            raise UnsafeURL(f"{_shown(host)} {verb} a private or reserved address, which this server does not call")
        if plain_http:
            raise UnsafeURL(f"{_shown(host)} may only be called over https")
    return addresses


def check_url(url: str) -> None:
    """Refuse (``UnsafeURL``) a URL the server must not call: checked when it is set.

    A name that does not resolve now is let through (it may be a provider not yet in DNS, and
    an unresolvable name reaches nothing): the check when called refuses it then if it resolves
    to a forbidden address.
    """
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise UnsafeURL("This is not a URL the server can call") from None
    host = parsed.host
    if parsed.scheme not in ("http", "https") or not host:
        raise UnsafeURL("Only https:// URLs can be called")
    plain_http = parsed.scheme == "http"
    port = parsed.port or (80 if plain_http else 443)
    try:
        checked_addresses(host, port, plain_http=plain_http)
    except OSError:
        # Plain http needs every address in the allow list (or the name itself there): unknowable.
        if plain_http and not _allowed.allows_host(host):
            raise UnsafeURL(f"{_shown(host)} may only be called over https") from None


# -- the transport ---------------------------------------------------------------------------

class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's network backend, resolving and checking the host itself and connecting to the
    address it checked. The TLS layer above still gets the original hostname (SNI)."""

    def __init__(self, *, plain_http: bool):
        self.plain_http = plain_http
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        try:
            addresses = checked_addresses(host, port, plain_http=self.plain_http)
        except OSError as exc:
            raise httpcore.ConnectError(f"{_shown(host)} could not be resolved") from exc
        failure: Exception | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                               socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        raise UnsafeURL("Unix sockets are not called")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


@functools.lru_cache(maxsize=4)
def _ssl_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """One verified context per process and trust setting: loading the CA bundle costs 20-50 ms,
    which every reply paid when each connector built its own (see docs/benchmarks.md). Keyed on
    SSL_CERT_FILE / SSL_CERT_DIR so that a changed trust setting still takes effect."""
    return httpx.create_ssl_context()


def ssl_context() -> ssl.SSLContext:
    return _ssl_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


def warm() -> None:
    """Called by ``flask worker`` before it forks work horses, so each inherits what every provider
    call needs instead of building it again per job: the SSL context and the IDNA codec."""
    import encodings.idna  # noqa: F401

    ssl_context()


class GuardedTransport(httpx.BaseTransport):
    """Two connection pools, https and http, each with a ``GuardedBackend``; anything else is refused."""

    def __init__(self) -> None:
        context = ssl_context()    # verified, SSL_CERT_FILE honoured, shared by the process
        self._pools = {
            "https": httpx.HTTPTransport(verify=context),
            "http": httpx.HTTPTransport(verify=context),
        }
        for scheme, transport in self._pools.items():
            transport._pool = httpcore.ConnectionPool(ssl_context=context, http1=True, http2=False,
                                                      network_backend=GuardedBackend(plain_http=scheme == "http"))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        transport = self._pools.get(request.url.scheme)
        if transport is None:
            raise UnsafeURL("Only https:// URLs can be called")
        return transport.handle_request(request)

    def close(self) -> None:
        for transport in self._pools.values():
            transport.close()


def guarded_client(timeout: httpx.Timeout | float | None = None, headers: dict[str, str] | None = None,
                   **kwargs: Any) -> httpx.Client:
    """An ``httpx.Client`` whose every request (and followed redirect) is checked when it connects.

    No proxy from the environment: a proxy would make the connection, not us, so the pinned
    address would mean nothing.
    """
    return httpx.Client(timeout=timeout if timeout is not None else httpx.Timeout(20.0, connect=5.0),
                        headers=headers, transport=GuardedTransport(), trust_env=False, **kwargs)
