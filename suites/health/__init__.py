"""health suite."""
