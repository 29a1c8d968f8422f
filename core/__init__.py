"""The shared kernel every app may depend on; it depends on no app of the project."""
