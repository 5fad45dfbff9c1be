"""Starting a bulk job and following its progress."""
