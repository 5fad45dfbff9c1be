"""The JSON API (/api/v1) and, later, the custom-channel public API (/api2/public)."""
