"""Read-side builders: each returns the context of one fragment, for a view and for a live push alike."""
