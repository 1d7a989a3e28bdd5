"""integrity suite."""
