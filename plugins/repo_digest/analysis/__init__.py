"""Per-commit analysis: the record every analyzer produces, and the analyzers."""
