"""Working together: live updates of the queue, presence (who views or replies to a ticket) and the
send-time guard."""
from flask import Blueprint

bp = Blueprint("live", __name__)

from . import guard, people, views  # noqa: E402,F401
