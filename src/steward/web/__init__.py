"""Server-rendered web UI (Jinja2), every asset served by Steward itself.

``mount_web(app, runtime)`` adds the pages, the session cookie and the static assets to the
API app; ``steward.server.create_app`` calls it.
"""

from steward.web.app import mount_web

__all__ = ["mount_web"]
