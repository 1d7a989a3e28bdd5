"""capture-service: a REST capture service (stills from a V4L2 camera, dated folders, a verified
transfer queue), the second reference stack ivv gates. Modules: config, auth, camera, store, transfer,
faults, app (the HTTP routes), __main__ (the entry point)."""
