"""Documentation suite: the stack's runbook, executed on the device as written (the `ops` fixture)."""
