"""fleet suite."""
