"""Webhooks and polling in: verify, store the raw body, enqueue; then normalise and store once."""
