"""The live board's web side: ``create_app`` (app.py), the fan-out hub (hub.py), endpoints (routes.py).

from wallboard.web import create_app
from wallboard.web.serving import uvicorn_options
app = create_app(settings, source)            # clock=time.time by default
uvicorn.run(app, host=..., port=..., **uvicorn_options(settings))
"""

from __future__ import annotations

from wallboard.web.app import create_app

__all__ = ["create_app"]
