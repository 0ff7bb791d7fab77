"""The visitor's address for per-address limits and the audit log.

Behind a load balancer every request comes from the balancer, so its X-Forwarded-For header is
read, but only when the request really comes from a trusted proxy (TRUSTED_PROXIES): anyone can
send that header, and trusting it blindly would let one client pose as many.
"""

from typing import Iterable, Optional

from aiohttp import web


def client_address(request: web.Request, trusted_proxies: Iterable[str]) -> Optional[str]:
    trusted = set(trusted_proxies)
    address = request.remote
    if address not in trusted:
        return address
    # The rightmost hop that is not one of our proxies is the client as our proxy saw it.
    hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop
    return address
