"""The JSON API (/api/v1) and the custom-channel public API (/api2/public, SocialHub-compatible)."""
