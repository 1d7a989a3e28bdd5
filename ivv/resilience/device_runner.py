"""Run an operation's commands on the device, detached from ivv's SSH session, and stop it at a cut point.

Uploaded to the device and started as root under `systemd-run` (a transient unit with its own cgroup,
`Delegate=yes`), so it outlives the SSH session and a link loss. Standard library only (Python >= 3.6):

    python3 device_runner.py SPEC.json

SPEC: {"dir": folder for its files, "commands": [...], "user": login user the commands run as,
"marker": regex of a phase-marker line or null, "pause": {"boundary": label} | {"at_s": seconds} | null,
"hold": a folder for the phase-hold handshake or null}.

Each command runs as `user` through `sh -c` with stdout and stderr merged, in the cgroup `op` below the
runner's own, so the runner can freeze all of it (sudo children included) with one write to
`cgroup.freeze`; without cgroup v2 it stops every descendant with SIGSTOP instead. Boundaries it reports:
`command:N` before the Nth command (N >= 2), `phase:<name>` when a line matches `marker` (the first
group names the phase; a repeated name gets `#2`), `end` when the last command has ended. When the pause
spec names a boundary (or a time since the start), the operation is frozen there and `state.json` says
`paused`: the harness then cuts power, so nothing of the operation runs after the cut point. Files in
`dir`: `events.jsonl` (one JSON object per event, with `t` seconds since the start), `output.log` and
`state.json` (replaced atomically: running | paused | done).

Phase hold (opt-in, profile `deployment.phase_hold`): a script goes on while its marker line travels
through pipes (and sudo's pty) to the runner, so without help a cut "at" a marker lands at or shortly after
it. With a hold folder the runner creates `HOLD/enabled` (holding its PID) for the run; a script that
finds it, with that PID alive, creates `HOLD/waiting` before printing a marker and waits until the file is
gone. The runner removes it at every marker it does not pause at, and at the pause boundary leaves it and
freezes: the cut then lands exactly at the marker (`held: true` in the paused event and state).
"""

import json
import os
import pwd
import re
import signal
import subprocess
import sys
import threading
import time

CGROUP_ROOT = "/sys/fs/cgroup"


class Runner:
    def __init__(self, spec):
        self.spec = spec
        self.dir = spec["dir"]
        self.commands = list(spec["commands"])
        self.marker = re.compile(spec["marker"]) if spec.get("marker") else None
        self.pause = spec.get("pause") or {}
        self.hold_dir = spec.get("hold") or None
        self.started = time.monotonic()
        self.lock = threading.Lock()
        self.paused = False
        self.frozen = None            # None: not asked yet; then whether the freeze took hold
        self.phases = {}
        self.child = None
        self.op_cgroup = None
        self.events = open(os.path.join(self.dir, "events.jsonl"), "a")
        self.output = open(os.path.join(self.dir, "output.log"), "a")

    # -- files ---------------------------------------------------------------------------------
    def now(self):
        return round(time.monotonic() - self.started, 3)

    def event(self, name, **fields):
        with self.lock:
            self.events.write(json.dumps(dict(fields, event=name, t=self.now())) + "\n")
            self.events.flush()

    def state(self, value, **fields):
        path = os.path.join(self.dir, "state.json")
        with open(path + ".tmp", "w") as fh:
            json.dump(dict(fields, state=value, t=self.now(), wall=time.time(), pid=os.getpid()), fh)
        os.replace(path + ".tmp", path)

    # -- freezing --------------------------------------------------------------------------------
    def setup_cgroup(self):
        """A child cgroup `op` for the commands (and `runner` for this process), when delegated."""
        try:
            with open("/proc/self/cgroup") as fh:
                own = [line.split(":", 2)[2].strip() for line in fh if line.startswith("0::")][0]
            base = CGROUP_ROOT + own.rstrip("/")
            if own == "/" or not os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers")) \
                    or not os.path.exists(os.path.join(base, "cgroup.procs")):
                raise OSError("not in a cgroup v2 unit of its own")
            runner, op = os.path.join(base, "runner"), os.path.join(base, "op")
            for path in (runner, op):
                os.makedirs(path, exist_ok=True)
                if not os.path.exists(os.path.join(path, "cgroup.procs")):
                    raise OSError(f"{path} is not a cgroup")
            with open(os.path.join(runner, "cgroup.procs"), "w") as fh:
                fh.write(str(os.getpid()))
            if os.path.exists(os.path.join(op, "cgroup.freeze")):
                self.op_cgroup = op
        except (OSError, IndexError) as exc:
            self.event("note", text=f"no cgroup freezer ({exc}): SIGSTOP is used")

    def descendants(self):
        tree = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as fh:
                        ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
                tree.setdefault(ppid, []).append(int(entry))
        out, todo = [], [self.child.pid] if self.child else []
        while todo:
            pid = todo.pop()
            out.append(pid)
            todo.extend(tree.get(pid, []))
        return out

    def freeze(self):
        """Stop everything of the operation now; True when it is frozen."""
        if self.child is None or self.child.poll() is not None:
            return True
        if self.frozen is not None:
            return self.frozen
        self.frozen = self._freeze()
        return self.frozen

    def _freeze(self):
        if self.op_cgroup:
            with open(os.path.join(self.op_cgroup, "cgroup.freeze"), "w") as fh:
                fh.write("1")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with open(os.path.join(self.op_cgroup, "cgroup.events")) as fh:
                    if "frozen 1" in fh.read():
                        return True
                time.sleep(0.01)
            return False
        for _round in range(3):   # new processes may appear while stopping: go over the tree again
            for pid in self.descendants():
                try:
                    os.kill(pid, signal.SIGSTOP)
                except OSError:
                    pass
        return True

    def hold(self, label):
        """Freeze at `label` and wait for the power cut (the harness never resumes a paused run)."""
        with self.lock:
            if self.paused:
                return
            self.paused = True
        frozen = self.freeze()
        held = bool(self.hold_dir) and label.startswith("phase:") and self.hold_file_exists("waiting")
        self.event("paused", label=label, frozen=frozen, held=held)
        self.state("paused", label=label, frozen=frozen, held=held)
        while True:
            time.sleep(3600)

    # -- the phase hold ----------------------------------------------------------------------------
    def hold_file_exists(self, name):
        return os.path.exists(os.path.join(self.hold_dir, name))

    def open_hold(self):
        """Tell the scripts to wait at each marker until the runner has seen it."""
        if self.hold_dir:
            os.makedirs(self.hold_dir, exist_ok=True)
            self.remove_hold_file("waiting")
            with open(os.path.join(self.hold_dir, "enabled"), "w") as fh:
                fh.write(str(os.getpid()))   # a script waits only while this process lives

    def close_hold(self):
        if self.hold_dir:
            self.remove_hold_file("enabled")
            self.remove_hold_file("waiting")

    def remove_hold_file(self, name):
        try:
            os.unlink(os.path.join(self.hold_dir, name))
        except FileNotFoundError:
            pass

    # -- running ---------------------------------------------------------------------------------
    def boundary(self, label):
        self.wait_if_paused()
        self.event("boundary", label=label)
        if self.pause.get("boundary") == label:
            self.hold(label)

    def wait_if_paused(self):
        """A timed pause that fell between two commands: start nothing more."""
        while self.paused:
            time.sleep(3600)

    def phase_label(self, line):
        """The boundary label a phase-marker line stands for (None for other lines)."""
        found = self.marker.search(line) if self.marker else None
        if not found:
            return None
        name = (found.group(1) if found.groups() else found.group(0)).strip()
        count = self.phases[name] = self.phases.get(name, 0) + 1
        return f"phase:{name}" + (f"#{count}" if count > 1 else "")

    def preexec(self, user):
        def run():
            try:                    # the runner's own priority is not the operation's
                os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
                os.setpriority(os.PRIO_PROCESS, 0, 0)
            except (OSError, AttributeError):
                pass
            if self.op_cgroup:
                with open(os.path.join(self.op_cgroup, "cgroup.procs"), "w") as fh:
                    fh.write(str(os.getpid()))
            os.setsid()
            if user is not None:
                os.initgroups(user.pw_name, user.pw_gid)
                os.setgid(user.pw_gid)
                os.setuid(user.pw_uid)
        return run

    def terminate(self, signum, frame):
        """Stopped by the harness (a run that was not cut): end the operation with it."""
        self.close_hold()
        for pid in self.descendants():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        os._exit(128 + signum)

    @staticmethod
    def prioritise():
        """Run ahead of the operation, so a marker line is acted on before the script goes on."""
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
        except (OSError, AttributeError):
            try:
                os.nice(-15)
            except OSError:
                pass

    def run(self):
        signal.signal(signal.SIGTERM, self.terminate)
        self.prioritise()
        self.setup_cgroup()
        user = pwd.getpwnam(self.spec["user"]) if self.spec.get("user") else None
        env = dict(os.environ, PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        if user is not None:
            env.update(HOME=user.pw_dir, USER=user.pw_name, LOGNAME=user.pw_name)
        if "at_s" in self.pause:
            timer = threading.Timer(max(0.0, float(self.pause["at_s"])), self.hold,
                                    args=(f"at {float(self.pause['at_s']):.2f} s",))
            timer.daemon = True
            timer.start()
        self.open_hold()
        self.state("running")
        status = 0
        for index, command in enumerate(self.commands, start=1):
            if index > 1:
                self.boundary(f"command:{index}")
            self.wait_if_paused()
            self.event("command", index=index, command=command)
            self.child = subprocess.Popen(["/bin/sh", "-c", command], stdin=subprocess.DEVNULL,
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                          cwd=user.pw_dir if user else "/", preexec_fn=self.preexec(user))
            for raw in self.child.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                label = self.phase_label(line)
                if label is not None and self.pause.get("boundary") == label:
                    self.freeze()                     # first, before writing anything
                with self.lock:
                    self.output.write(f"{self.now():8.3f} {line}\n")
                    self.output.flush()
                if label is not None:
                    self.boundary(label)
                    if self.hold_dir:
                        self.remove_hold_file("waiting")   # not the cut point: the script goes on
            status = self.child.wait()
            self.event("exit", index=index, status=status)
            if status != 0:
                break
        self.close_hold()
        self.boundary("end")
        self.event("done", status=status)
        self.state("done", status=status)
        return 0


def main(argv):
    with open(argv[1]) as fh:
        spec = json.load(fh)
    return Runner(spec).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
