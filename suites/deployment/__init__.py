"""deployment suite."""
