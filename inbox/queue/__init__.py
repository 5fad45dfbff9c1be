"""The unified queue: list, filters and the ticket pane."""
