"""The Jinja environment of the web UI and the one function that renders a page.

Autoescaping is on for every template and undefined names fail loudly, so a typo cannot
silently render an empty cell and user content is never emitted raw.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse

from steward._version import __version__
from steward.web import assets, nav, session

# Plotly injects <style> elements, hence 'unsafe-inline' for styles only; no script runs inline.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def format_time(ms: int | None) -> str:
    """Epoch milliseconds as a UTC timestamp.

    >>> format_time(0)
    '1970-01-01 00:00:00 UTC'
    >>> format_time(None)
    '—'
    """
    if ms is None:
        return "—"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_duration(start_ms: int | None, end_ms: int | None) -> str:
    """How long a run took, e.g. ``1h 02m``, ``3m 05s``, ``4.2s``.

    >>> format_duration(0, 4200), format_duration(0, 185_000), format_duration(0, 3_720_000)
    ('4.2s', '3m 05s', '1h 02m')
    """
    if start_ms is None or end_ms is None:
        return "—"
    seconds = max(0, end_ms - start_ms) / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def format_number(value: float | None) -> str:
    """A metric value with six significant digits.

    >>> format_number(0.123456789), format_number(float("nan")), format_number(None)
    ('0.123457', 'NaN', '—')
    """
    if value is None:
        return "—"
    if math.isnan(value):
        return "NaN"
    return f"{value:.6g}"


def _build_env() -> Environment:
    env = Environment(
        loader=PackageLoader("steward.web", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(time=format_time, number=format_number)
    env.globals.update(
        duration=format_duration,
        static_url=assets.static_url,
        version=__version__,
    )
    return env


_env = _build_env()


def render(request: Request, template: str, context: dict[str, Any], *, status: int = 200) -> HTMLResponse:
    """Render ``template`` with the page chrome's context (user, nav, CSRF token) added."""
    principal = session.principal_of(request)
    base = {
        "request": request,
        "user": principal,
        "nav": nav.nav_for(principal),
        "active": context.get("active", ""),
        "csrf_token": session.csrf_token(request),
    }
    html = _env.get_template(template).render({**base, **context})
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)
