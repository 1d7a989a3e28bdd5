"""security suite."""
