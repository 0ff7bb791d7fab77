"""The headers and the origin rule every response of the gateway gets, in one place.

Each page may set its own Content-Security-Policy (the widget's pages allow their own scripts,
the counsellors' page inline styles); every other response gets the strictest one. Pages of
other sites may not use the chat's socket or API: browsers always send Origin there, and a
client without one (a script, the load test) is let through, since it could send any Origin.
"""

from typing import Collection

from aiohttp import web

BASELINE = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
}


def origin_allowed(request: web.Request, allowed: Collection[str]) -> bool:
    origin = request.headers.get("Origin")
    return origin is None or origin.rstrip("/") in allowed


def guard(app: web.Application, allowed_origins: Collection[str]) -> None:
    """Adds the baseline headers to every response and refuses foreign origins on the chat."""

    async def add_headers(_request: web.Request, response: web.StreamResponse) -> None:
        for name, value in BASELINE.items():
            response.headers.setdefault(name, value)

    @web.middleware
    async def origin_guard(request: web.Request, handler):
        if (request.path == "/ws" or request.path.startswith("/api/")) and not origin_allowed(request, allowed_origins):
            return web.Response(status=403, text="origin not allowed")
        return await handler(request)

    app.on_response_prepare.append(add_headers)  # type: ignore[arg-type]  # aiohttp's own annotation
    app.middlewares.append(origin_guard)
