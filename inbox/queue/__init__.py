"""The unified queue: list, filters, the ticket pane and its action bar.

The blueprint is declared here and the view modules add their routes to it when the package is
imported (Flask's "blueprint in a package" layout), so ``app.py`` only registers ``bp`` and needs
no side-effect import. What the JSON API shares with the pages lives in modules that are not views
(``queries``, ``pane``, ``actions``), so ``inbox.api`` never imports a view module.
"""
from flask import Blueprint

bp = Blueprint("queue", __name__)

from . import action_views, note_views, views  # noqa: E402,F401  (they register routes on bp)
