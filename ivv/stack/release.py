"""Release archives of a stack, byte-reproducible, and the copy of each pinned for a run.

`build_releases(profile)` writes one tar.gz per release manifest (`releases/<version>.yaml` beside the
profile) with an offline wheelhouse (see `ivv stack build`); the same inputs always give the same bytes.
`pinned(profile, version)` is the archive as this run first saw it: copied and pinned by sha256, so a
rebuild during the run cannot change the release under test half-way.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from ivv.config.profile import Profile
from ivv.errors import ProfileError, TargetError

# -- release archives ------------------------------------------------------------------------------
FIXED_MTIME = 1_700_000_000  # 2023-11-14; used unless SOURCE_DATE_EPOCH says otherwise
WHEEL_TARGET = ["--only-binary=:all:", "--implementation", "cp", "--python-version", "3.11", "--abi", "cp311",
                "--abi", "abi3", "--abi", "none", "--platform", "manylinux2014_x86_64",
                "--platform", "manylinux_2_17_x86_64", "--platform", "manylinux_2_28_x86_64",
                "--platform", "any"]
RELEASE_PARTS = ("src", "config", "scripts", "systemd", "logrotate", "bin", "README.md", "requirements.txt")


def stack_dir(profile: Profile) -> Path:
    return profile.path.parent


def release_manifests(profile: Profile) -> dict[str, dict]:
    """version -> release manifest (releases/<version>.yaml of the stack)."""
    manifests = {}
    for path in sorted((stack_dir(profile) / "releases").glob("*.yaml")):
        data = yaml.safe_load(path.read_text()) or {}
        if "version" not in data:
            raise ProfileError(f"{path}: release manifest has no `version`")
        manifests[str(data["version"])] = data
    return manifests


def wheelhouse(requirements: Path, cache_root: Path) -> list[Path]:
    """The wheels of `requirements` for the device (CPython 3.11, manylinux x86_64), downloaded once.

    The cache folder is keyed by the requirements file's sha256, so the same pins always give the same
    wheel files (and the same archive bytes) without asking the registry again.
    """
    key = hashlib.sha256(requirements.read_bytes()).hexdigest()[:16]
    cache = cache_root / key
    done = cache / ".complete"
    if not done.exists():
        cache.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
               *WHEEL_TARGET, "-r", str(requirements), "-d", str(cache)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise TargetError(f"pip download for {requirements} failed: {proc.stderr.strip()[-800:]}")
        done.write_text("ok\n")
    wheels = sorted(cache.glob("*.whl"))
    if not wheels:
        raise TargetError(f"wheelhouse {cache} is empty")
    return wheels


def _release_files(profile: Profile, version: str, manifest: dict, wheels: list[Path]) -> dict[str, tuple[bytes, int]]:
    """archive path -> (bytes, mode) of one release."""
    root = stack_dir(profile)
    top = f"{profile.name}-{version}"
    files: dict[str, tuple[bytes, int]] = {}
    for part in RELEASE_PARTS:
        base = root / part
        paths = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        for path in paths:
            rel = path.relative_to(root).as_posix()
            if "__pycache__" in rel or rel.endswith((".pyc", "VERSION")):
                continue
            mode = 0o755 if os.access(path, os.X_OK) else 0o644
            files[f"{top}/{rel}"] = (path.read_bytes(), mode)
    stamp = f"{version}\n".encode()
    files[f"{top}/VERSION"] = (stamp, 0o644)
    for package in sorted(init.parent.name for init in (root / "src").glob("*/__init__.py")):
        files[f"{top}/src/{package}/VERSION"] = (stamp, 0o644)     # the version each package reports
    release_config = manifest.get("config") or {}
    header = f"# Release {version}: keys that differ from base.yaml (from releases/{version}.yaml).\n"
    files[f"{top}/config/release.yaml"] = ((header + yaml.safe_dump(release_config, sort_keys=True)).encode(), 0o644)
    for wheel in wheels:
        files[f"{top}/wheelhouse/{wheel.name}"] = (wheel.read_bytes(), 0o644)
    sums = "".join(f"{hashlib.sha256(data).hexdigest()}  {name.split('/', 1)[1]}\n"
                   for name, (data, _) in sorted(files.items()))
    files[f"{top}/SHA256SUMS"] = (sums.encode(), 0o644)
    return files


def write_archive(files: dict[str, tuple[bytes, int]], out: Path, mtime: int) -> None:
    """A tar.gz whose bytes depend only on `files`: sorted members, fixed owner, mode and times."""
    dirs = sorted({"/".join(name.split("/")[:i]) for name in files for i in range(1, name.count("/") + 1)})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in sorted(set(dirs) | set(files)):
            info = tarfile.TarInfo(name)
            info.mtime, info.uid, info.gid, info.uname, info.gname = mtime, 0, 0, "root", "root"
            if name in files:
                data, info.mode = files[name]
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")     # processes of one fleet run may build at once
    with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        gz.write(buffer.getvalue())
    tmp.replace(out)


@dataclass
class BuiltRelease:
    version: str
    path: Path
    sha256: str
    size: int


def build_releases(profile: Profile, versions: list[str] | None = None, out_dir: Path | None = None,
                   wheel_cache: Path | None = None) -> list[BuiltRelease]:
    """Build the release archives of `versions` (default: every manifest) reproducibly."""
    manifests = release_manifests(profile)
    versions = versions or list(manifests)
    unknown = [v for v in versions if v not in manifests]
    if unknown:
        raise ProfileError(f"no release manifest for {', '.join(unknown)} in {stack_dir(profile) / 'releases'} "
                           f"(known: {', '.join(manifests)})")
    out_dir = Path(out_dir) if out_dir else (profile.archive("0").parent if profile.deployment
                                             else stack_dir(profile) / "build")
    wheel_cache = Path(wheel_cache) if wheel_cache else out_dir.parent / "wheelhouse"
    wheels = wheelhouse(stack_dir(profile) / "requirements.txt", wheel_cache)
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", FIXED_MTIME))
    built = []
    for version in versions:
        path = profile.archive(version) if profile.deployment else out_dir / f"{profile.name}-{version}.tar.gz"
        if out_dir != path.parent:
            path = out_dir / path.name
        write_archive(_release_files(profile, version, manifests[version], wheels), path, mtime)
        data = path.read_bytes()
        built.append(BuiltRelease(version, path, hashlib.sha256(data).hexdigest(), len(data)))
    (out_dir / "SHA256SUMS").write_text("".join(f"{b.sha256}  {b.path.name}\n" for b in sorted(
        built, key=lambda b: b.path.name)))
    return built


# Release archives pinned for this process: version -> (private copy, sha256).
_PINNED: dict[tuple[str, str], tuple[Path, str]] = {}
_BUILT: set[str] = set()


def fresh_archives(profile: Profile) -> bool:
    """Build the archives of a stack ivv builds itself (release manifests beside its profile) once per
    process, so an edited stack is never deployed from an archive built before the edit (the build is
    reproducible: unchanged sources give the same bytes). False for a stack ivv does not build."""
    if not release_manifests(profile):
        return False
    if str(profile.path) not in _BUILT:
        build_releases(profile)
        _BUILT.add(str(profile.path))
    return True


def pinned(profile: Profile, version: str) -> tuple[Path, str]:
    """The archive of `version` as first seen by this run, and its sha256 (built first: from its sources
    once per run when ivv builds the stack, else with the profile's build command when missing)."""
    key = (str(profile.path), version)
    if key not in _PINNED:
        archive = profile.archive(version)
        if not fresh_archives(profile) and not archive.is_file():
            _build_with_profile_command(profile)
        if not archive.is_file():
            raise ProfileError(f"{profile.path}: deployment.archive for {version}: no file {archive} "
                               f"(build it with `{profile.deployment.get('build', 'the stack build')}`)")
        copy = Path(tempfile.mkdtemp(prefix="ivv-release-")) / archive.name
        shutil.copyfile(archive, copy)
        _PINNED[key] = (copy, hashlib.sha256(copy.read_bytes()).hexdigest())
    return _PINNED[key]


def _build_with_profile_command(profile: Profile) -> None:
    """Run the profile's `deployment.build` command (an `ivv ...` command runs through this interpreter)."""
    build = (profile.deployment or {}).get("build")
    if build:
        argv = shlex.split(build)
        if argv[:1] == ["ivv"]:  # this harness itself, whether or not its venv is on PATH
            argv = [sys.executable, "-m", "ivv.cli", *argv[1:]]
        subprocess.run(argv, cwd=profile.path.parent, check=False, timeout=600)
