"""Models arrive with their issue; the app exists so it plugs in without rewrites."""
