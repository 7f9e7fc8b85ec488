"""Where a sign-in came from, as the list of one's sessions shows it.

A refresh-token family is one session. Each token of it records the user agent and the
network prefix of the request that got it — a /24 of an IPv4 address, a /48 of an IPv6
one, never the whole address: enough to tell "my laptop at home" from "a browser on
another continent", not enough to locate anyone.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

IPV4_PREFIX = 24
IPV6_PREFIX = 48


@dataclass(frozen=True, slots=True)
class SignInOrigin:
    user_agent: str | None = None
    ip_prefix: str | None = None


def network_prefix(ip: str | None) -> str | None:
    """The network of ``ip`` (``203.0.113.0/24``, ``2001:db8:1::/48``); None when it is
    not an IP address (a test client, a Unix socket)."""
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    bits = IPV4_PREFIX if address.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))
