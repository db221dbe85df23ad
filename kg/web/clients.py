"""Who a request comes from, for fair use: the connection's address, or behind trusted reverse proxies
the address the nearest of them was connected from.

``X-Forwarded-For`` is a list that each proxy appends its peer to, so only its right end is trustworthy:
walking from the right, every address that is one of our proxies is skipped, and the first that is not
is the client (what nginx's ``real_ip_recursive`` does). A client cannot choose its identity by sending
the header itself, because whatever it wrote stays to the left of what our proxy appended.
"""

from __future__ import annotations

import ipaddress
from typing import Mapping, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ClientAddress:
    def __init__(self, trusted: Sequence[Network]) -> None:
        self.trusted = tuple(trusted)

    def __call__(self, environ: Mapping[str, str]) -> str:
        peer = environ.get("REMOTE_ADDR", "")
        if not self.trusted or not self._is_trusted(peer):
            return peer
        hops = [hop.strip() for hop in environ.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self._is_trusted(hop):
                return hop
        return hops[0] if hops else peer  # every hop is ours: the request started inside

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:  # not an address (a proxy that writes names, or garbage): never trusted
            return False
        return any(ip in network for network in self.trusted)
