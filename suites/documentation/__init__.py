"""documentation suite."""
