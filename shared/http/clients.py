"""Who is calling, as far as rate limits are concerned."""

from __future__ import annotations

import ipaddress

from aiohttp import web


def client_address(request: web.Request, trusted_proxy_hops: int = 0) -> str:
    """The caller's IP address for rate limits: the peer, or with ``trusted_proxy_hops`` > 0
    (the service runs behind that many proxies of ours) the address the outermost trusted
    proxy saw in ``X-Forwarded-For``; entries a client wrote itself further left are ignored."""
    address = request.remote or "unknown"
    if trusted_proxy_hops > 0:
        hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")
                if h.strip()]
        if len(hops) >= trusted_proxy_hops:
            address = hops[-trusted_proxy_hops][:64]
    return client_network(address)


def client_network(address: str) -> str:
    """What one client controls: an IPv4 address, or the /64 of an IPv6 one (a single host is
    handed a whole /64, so counting full IPv6 addresses would give it 2**64 allowances)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
