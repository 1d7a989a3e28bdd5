"""Build the virtual device's disk image: debootstrap into a folder, then `mkfs.ext4 -d` (no loop mount).

The image lives in <cache>/images/<recipe key>/ with disk.img (raw ext4), vmlinuz, initrd.img, the
per-image SSH key (id_ed25519) and image.json. It is built in a sibling temporary folder and renamed
into place only when complete, so a killed build never leaves a half image that looks good; a lock file
makes a second concurrent build wait for the first and then reuse its result.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ivv.errors import PrerequisiteError
from ivv.vdevice.host import cache_root, ensure_host_tools, tool
from ivv.vdevice.progress import Progress
from ivv.vdevice.recipe import Recipe, load_recipe

DEFAULT_MIRROR = "http://deb.debian.org/debian"
IMAGE_FILES = ("disk.img", "vmlinuz", "initrd.img", "id_ed25519", "id_ed25519.pub", "image.json")


@dataclass(frozen=True)
class Image:
    """A complete, cached image."""

    directory: Path
    key: str
    user: str

    @property
    def disk(self) -> Path:
        return self.directory / "disk.img"

    @property
    def kernel(self) -> Path:
        return self.directory / "vmlinuz"

    @property
    def initrd(self) -> Path:
        return self.directory / "initrd.img"

    @property
    def ssh_key(self) -> Path:
        return self.directory / "id_ed25519"

    def meta(self) -> dict:
        return json.loads((self.directory / "image.json").read_text())


def images_dir() -> Path:
    path = cache_root() / "images"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cached_image(recipe: Recipe) -> Image | None:
    """The complete cached image for this recipe, or None."""
    directory = images_dir() / recipe.key
    if all((directory / name).is_file() for name in IMAGE_FILES):
        return Image(directory, recipe.key, recipe.user)
    return None


def host_mirror(sources_dir: Path = Path("/etc/apt")) -> str:
    """The Debian mirror the host's apt sources use (not the security archive); IVV_MIRROR overrides."""
    if os.environ.get("IVV_MIRROR"):
        return os.environ["IVV_MIRROR"]
    uris: list[str] = []
    for path in sorted((sources_dir / "sources.list.d").glob("*.sources")):
        for line in _read(path).splitlines():
            if line.strip().lower().startswith("uris:"):
                uris += line.split(":", 1)[1].split()
    for path in [sources_dir / "sources.list", *sorted((sources_dir / "sources.list.d").glob("*.list"))]:
        for line in _read(path).splitlines():
            match = re.match(r"\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)", line)
            if match:
                uris.append(match.group(1))
    for uri in uris:
        if uri.startswith(("http://", "https://")) and "security" not in uri:
            return uri.rstrip("/")
    return DEFAULT_MIRROR


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _unmount_below(path: Path) -> None:
    """Unmount anything a killed debootstrap left mounted inside a build folder (deepest first)."""
    prefix = str(path.resolve()) + "/"
    try:
        mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return
    for mount in sorted((m for m in mounts if m.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "-l", mount], check=False, capture_output=True)


def _remove_tree(path: Path) -> None:
    if path.exists():
        _unmount_below(path)
        shutil.rmtree(path, ignore_errors=True)


def _clean_stale_builds(root: Path) -> None:
    for stale in root.glob(".build-*"):
        pid = stale.name.rsplit("-", 1)[-1]
        if pid.isdigit() and Path(f"/proc/{pid}").exists():
            continue
        _remove_tree(stale)


def build_image(recipe: Recipe | None = None, progress: Progress | None = None, force: bool = False) -> Image:
    """Return the cached image for the recipe, building it first when missing (or when `force`)."""
    recipe = recipe or load_recipe()
    progress = progress or Progress()
    root = images_dir()
    with open(root / f"{recipe.key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        image = cached_image(recipe)
        if image and not force:
            progress.step(f"image {recipe.key[:12]} cached in {image.directory}")
            return image
        return _build_locked(recipe, progress, root)


def _build_locked(recipe: Recipe, progress: Progress, root: Path) -> Image:
    if os.geteuid() != 0:
        raise PrerequisiteError("building the virtual device image needs root (debootstrap, chroot); "
                                "run `sudo ivv device build` once, the image is then cached")
    ensure_host_tools(("debootstrap", "mkfs.ext4", "ssh-keygen"))
    _clean_stale_builds(root)
    started = time.monotonic()
    work = root / f".build-{recipe.key[:16]}-{os.getpid()}"
    _remove_tree(work)
    work.mkdir(parents=True)
    rootfs = work / "rootfs"
    log = work / "build.log"
    mirror = host_mirror()
    try:
        progress.step(f"building image {recipe.key[:12]} ({recipe.suite}, {len(recipe.packages)} packages, "
                      f"mirror {mirror}); log {log}")
        progress.run("debootstrap", [tool("debootstrap"), f"--variant={recipe.variant}",
                                     f"--include={','.join(recipe.packages)}", recipe.suite, str(rootfs), mirror],
                     log, timeout=1800)
        subprocess.run([tool("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-C", f"ivv-vdevice-{recipe.key[:12]}",
                        "-f", str(work / "id_ed25519")], check=True, capture_output=True, timeout=60)
        if recipe.files:
            shutil.copytree(recipe.files, rootfs, dirs_exist_ok=True, symlinks=True)
        _customize(recipe, rootfs, work, log, progress)
        _copy_boot_files(rootfs, work)
        progress.run("mkfs.ext4", [tool("mkfs.ext4"), "-q", "-F", "-L", "ivv-root", "-d", str(rootfs),
                                   str(work / "disk.img"), recipe.size], log, timeout=900)
        _remove_tree(rootfs)
        meta = {"key": recipe.key, "suite": recipe.suite, "packages": list(recipe.packages), "mirror": mirror,
                "user": recipe.user, "hostname": recipe.hostname, "size": recipe.size,
                "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "build_seconds": round(time.monotonic() - started, 1),
                "disk_bytes_allocated": (work / "disk.img").stat().st_blocks * 512}
        (work / "image.json").write_text(json.dumps(meta, indent=2) + "\n")
        final = root / recipe.key
        _remove_tree(final)
        os.rename(work, final)
    except BaseException:
        _remove_tree(rootfs)
        progress.step(f"image build failed; log kept in {log}")
        raise
    progress.step(f"image {recipe.key[:12]} built in {meta['build_seconds']} s: {final}")
    return Image(final, recipe.key, recipe.user)


def _customize(recipe: Recipe, rootfs: Path, work: Path, log: Path, progress: Progress) -> None:
    shutil.copy(work / "id_ed25519.pub", rootfs / "tmp" / "ivv-image.pub")
    if recipe.customize is None:
        return
    shutil.copy(recipe.customize, rootfs / "tmp" / "ivv-customize.sh")
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive"}
    try:
        progress.run("customize", ["chroot", str(rootfs), "/bin/sh", "/tmp/ivv-customize.sh", recipe.user,
                                   ",".join(recipe.user_groups), recipe.hostname, "/tmp/ivv-image.pub"],
                     log, timeout=300, env=env)
    finally:
        (rootfs / "tmp" / "ivv-customize.sh").unlink(missing_ok=True)


def _copy_boot_files(rootfs: Path, work: Path) -> None:
    """QEMU boots with -kernel/-initrd, so the newest kernel and its initrd are copied beside the disk."""
    kernels = sorted((rootfs / "boot").glob("vmlinuz-*"))
    if not kernels:
        raise PrerequisiteError(f"no kernel in {rootfs}/boot: is linux-image-amd64 in the package list?")
    version = kernels[-1].name.removeprefix("vmlinuz-")
    initrd = rootfs / "boot" / f"initrd.img-{version}"
    if not initrd.is_file():
        raise PrerequisiteError(f"no initrd for kernel {version} in {rootfs}/boot")
    shutil.copy(kernels[-1], work / "vmlinuz")
    shutil.copy(initrd, work / "initrd.img")
