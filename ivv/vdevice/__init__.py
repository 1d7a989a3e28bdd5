"""The virtual device: image recipe and builder, QMP client, and boot/overlay management."""
