"""Where wallboard's non-Python files live: templates, static assets and seed scenarios.

Two layouts must work:

* a source checkout (and an editable install), where the folders sit at the top
  of the repository, next to the ``wallboard`` package: ``templates/``,
  ``static/``, ``seeds/``;
* a plain ``pip install .``, where pyproject.toml maps those folders into the
  package as ``wallboard/templates``, ``wallboard/static``, ``wallboard/seeds``.

The checkout folder wins when it exists, so that a developer's edits are what
runs; otherwise the installed package folder is used.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

_CHECKOUT_ROOT = Path(__file__).resolve().parent.parent


def _folder(name: str) -> Path:
    checkout = _CHECKOUT_ROOT / name
    # pyproject.toml marks a source checkout; an installed package's parent is site-packages,
    # where a stray top-level "templates" folder of some other distribution must not be picked up.
    if checkout.is_dir() and (_CHECKOUT_ROOT / "pyproject.toml").is_file():
        return checkout
    # A regular (non-zipped) install: the traversable is a real directory.
    return Path(str(files("wallboard") / name))


def templates_dir() -> Path:
    """The Jinja2 templates of the web app."""
    return _folder("templates")


def static_dir() -> Path:
    """The static files (JS, CSS, vendored libraries) served under /static."""
    return _folder("static")


def seeds_dir() -> Path:
    """The simulator's scenario files (``<name>.toml``) and their README."""
    return _folder("seeds")
