"""Server-rendered web UI (Jinja2), every asset served by Steward itself."""
