"""The virtual device: a QEMU guest with systemd, sshd and a V4L2 camera, booted from a cached image.

- `recipe`: the image recipe (packages, files, customisation) and its key; `image`: build and cache it.
- `machine`: one QEMU process (overlay, forwards, console log); `qmp`: its monitor (power, reset, link).
- `host`: host tools and the cache folder; `progress`: progress lines for long steps; `watchdog`: ends a
  VM whose run died.
- `snapshots`: the whole running machine saved in its overlay (`savevm`) and put back (`loadvm`).
"""
