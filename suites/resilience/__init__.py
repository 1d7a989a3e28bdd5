"""Resilience suite: power cuts, link loss and crashes in the middle of upgrade and rollback, a lost camera
and a full disk, and recovery down to the first camera frame (gate deployment/gates/resilience.yaml)."""
