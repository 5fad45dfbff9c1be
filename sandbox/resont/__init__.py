"""The Resont REST API, served from memory (see shared/specs/resont-api.txt)."""
from .state import *  # noqa: F401,F403  (temporary while the split lands)
from .state import SANDBOX, bp  # noqa: F401
