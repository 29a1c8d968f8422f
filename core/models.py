"""Models of the shared kernel."""
