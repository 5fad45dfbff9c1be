"""Suggested replies and their approval: who must ask (``policy``), and the suggestion's life
(``service``: suggest, revise, withdraw, approve, reject)."""
