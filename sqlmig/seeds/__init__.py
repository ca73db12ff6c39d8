"""Seeds: the files on disk (on_disk) and loading them in one transaction (loading)."""
