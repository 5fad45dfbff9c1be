"""The reply composer and what it records."""
