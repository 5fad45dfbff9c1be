"""Login, roles and permissions, API tokens."""
