"""Rules: conditions and actions that admins set to run on every new item (issue 10)."""
