"""Health: whether a health answer can be believed, and whether it follows the truth on the device.

- `readiness`: the one readiness rule (2xx and a status the profile documents with 2xx), code/body
  consistency, schema errors, bounded waits for ready and not ready.
- `latency`: calls over one keep-alive session and nearest-rank percentiles.
- `ops`: the health scenarios of a running stack (stable readiness, a dependency stopped, the camera
  removed, a restart) driven through the Stack interface.
"""
