"""Bulk work on the queue: the selected rows, or every ticket matching a filter, changed by a worker
in batches with its progress and a summary."""
from flask import Blueprint

bp = Blueprint("bulk", __name__)

from . import views  # noqa: E402,F401
