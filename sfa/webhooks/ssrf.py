"""The SSRF guard: a webhook URL must resolve to public addresses only.

Checked when a subscription is saved and again before every attempt, on the addresses
the name resolves to then (a name can be re-pointed after it was checked): the
dispatcher connects to the address checked here, never resolves the name again.

Refused: loopback, private (RFC 1918, unique-local), link-local, carrier-grade NAT,
multicast, reserved and unspecified addresses, and the cloud metadata addresses, unless
the process settings allow them: `SFA_WEBHOOKS_ALLOW_PRIVATE` (everything but metadata),
`SFA_WEBHOOKS_ALLOW_LOOPBACK` (127.0.0.0/8 and ::1 alone: a receiver on this machine).

Every name is resolved through one function, `resolve`, which tests replace
(`use_resolver`) so that no test depends on, or reaches, a real DNS name.
"""

import ipaddress
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from sfa.config import get_settings
from sfa.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port -> the addresses it resolves to (as text)
Resolver = Callable[[str, int], list[str]]

# Instance metadata services: never a webhook's target, whatever the settings.
METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)


class UnsafeUrl(InvalidInput):
    """The URL is not one webhooks may call (a 422 at subscription, a failed attempt at
    delivery)."""


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


_resolver: list[Resolver] = [system_resolver]


def resolve(host: str, port: int) -> list[str]:
    return _resolver[0](host, port)


def set_resolver(resolver: Resolver) -> Resolver:
    """Resolve through `resolver` from now on; returns the one it replaces."""
    previous = _resolver[0]
    _resolver[0] = resolver
    return previous


@contextmanager
def use_resolver(resolver: Resolver) -> Iterator[None]:
    """Resolve through `resolver` inside the block (tests)."""
    previous = _resolver[0]
    _resolver[0] = resolver
    try:
        yield
    finally:
        _resolver[0] = previous


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as in the URL (the Host header, the TLS server name)
    port: int
    address: str  # the checked address to connect to
    path: str  # path and query


def _problem(address: IPAddress, allow_private: bool, allow_loopback: bool) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address in METADATA:
        return "a cloud metadata address"
    if address.is_loopback:
        return None if allow_loopback or allow_private else "a loopback address"
    if address.is_link_local:
        return None if allow_private else "a link-local address"
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return "not a unicast address"
    if not address.is_global:
        return None if allow_private else "a private address"
    return None


def check_url(url: str) -> Target:
    """The target of `url` after the guard; UnsafeUrl says why it is refused."""
    settings = get_settings()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl(f"{url!r} is not an http(s) URL", hint="give https://host/path")
    if parts.username or parts.password:
        raise UnsafeUrl("a webhook URL cannot carry a user or password")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeUrl(f"{url!r} has an invalid port") from None
    host = parts.hostname
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            addresses = [ipaddress.ip_address(a.split("%")[0]) for a in resolve(host, port)]
        except (OSError, UnicodeError, ValueError) as exc:
            raise UnsafeUrl(f"the host {host!r} cannot be resolved ({exc})") from None
    if not addresses:
        raise UnsafeUrl(f"the host {host!r} resolves to no address")
    for address in addresses:
        problem = _problem(
            address, settings.webhooks_allow_private, settings.webhooks_allow_loopback
        )
        if problem is not None:
            raise UnsafeUrl(
                f"the host {host!r} resolves to {address}, {problem}",
                hint="webhooks call public addresses only (SFA_WEBHOOKS_ALLOW_PRIVATE "
                "allows private ones in a closed network)",
            )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port, str(addresses[0]), path)
