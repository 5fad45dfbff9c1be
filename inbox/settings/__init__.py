"""Channels, users and the other things admins set up."""
