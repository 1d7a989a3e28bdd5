"""ivv: turn measurements on a device into a gate-review report that cannot claim more than was measured."""

__version__ = "0.1.0"
