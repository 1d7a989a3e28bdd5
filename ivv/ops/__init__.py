"""Operations on a deployed stack, timed, and the before/after facts that judge them.

- `commands`: the profile's commands with placeholders filled; the installed version.
- `operation`: a timed operation (commands, then the wait for ready); `deployment`: StackOps, the
  deployment operations and facts of one stack; `rollback`: what a rollback must give back.
- `files`: file inventories and data checksums, compared; `rules`: what files, users and ports must be.
- `journal`: the device journal around an operation and its anomalies; `contents`: what was deployed.
- `runbook`: the runbook's command blocks executed as written; `apidata`: data written through the API;
  `transfers`: a file the stack moves, checked at both ends on the target.
"""
