"""rollback suite."""
