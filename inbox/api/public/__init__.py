"""The SocialHub-compatible public API for custom channels (``/api2/public``).

``service`` holds what it does (functions of a session and plain values), ``views`` the thin
Flask routes, ``errors`` the one mapping of our errors to SocialHub's ``{code, message}``.
"""
from .views import bp

__all__ = ["bp"]
