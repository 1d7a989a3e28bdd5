"""The image recipe and its cache: the key follows the recipe, an unchanged recipe reuses the image, a
changed one rebuilds, an incomplete build never counts; plus the host-side helpers (mirror, packages)."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from ivv.errors import ConfigError, PrerequisiteError
from ivv.vdevice import host as host_mod
from ivv.vdevice import image as image_mod
from ivv.vdevice.progress import Progress
from ivv.vdevice.recipe import DEFAULT_RECIPE_DIR, load_recipe, recipe_key


@pytest.fixture
def recipe_dir(tmp_path):
    """A tiny fake recipe, keyed by the same function as the real one."""
    root = tmp_path / "recipe"
    (root / "files" / "etc").mkdir(parents=True)
    (root / "recipe.yaml").write_text("suite: bookworm\npackages: packages.txt\nfiles: files\n")
    (root / "packages.txt").write_text("# base\nsystemd-sysv\nopenssh-server\n")
    (root / "files" / "etc" / "motd").write_text("hello\n")
    return root


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("IVV_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_key_is_stable_and_follows_every_recipe_change(recipe_dir):
    key = recipe_key(recipe_dir)
    assert key == recipe_key(recipe_dir) and len(key) == 64
    changes = []
    (recipe_dir / "packages.txt").write_text("# base\nsystemd-sysv\nopenssh-server\nffmpeg\n")
    changes.append(recipe_key(recipe_dir))
    (recipe_dir / "files" / "etc" / "issue").write_text("new file\n")
    changes.append(recipe_key(recipe_dir))
    os.chmod(recipe_dir / "files" / "etc" / "issue", 0o600)
    changes.append(recipe_key(recipe_dir))
    (recipe_dir / "files" / "etc" / "issue").rename(recipe_dir / "files" / "etc" / "issue2")
    changes.append(recipe_key(recipe_dir))
    changes.append(recipe_key(recipe_dir, builder_version="999"))
    assert len({key, *changes}) == 1 + len(changes), "some change did not change the key"


def test_real_recipe_has_what_the_stacks_need():
    recipe = load_recipe()
    assert recipe.directory == DEFAULT_RECIPE_DIR and recipe.suite == "bookworm" and recipe.variant == "minbase"
    needed = {"systemd-sysv", "openssh-server", "python3", "python3-venv", "sudo", "udev", "kmod", "iproute2",
              "dbus", "systemd-resolved", "linux-image-amd64", "ustreamer", "ffmpeg", "v4l-utils", "procps",
              "logrotate", "ca-certificates"}
    assert needed <= set(recipe.packages)
    assert "linux-image-cloud-amd64" not in recipe.packages     # the cloud kernel has no vivid
    modprobe = (recipe.files / "etc" / "modprobe.d" / "vivid.conf").read_text()
    assert "n_devs=1" in modprobe and "node_types=0x1" in modprobe
    assert (recipe.files / "etc" / "modules-load.d" / "vivid.conf").read_text().split("\n")[-2] == "vivid"
    assert "Name=en*" in (recipe.files / "etc" / "systemd" / "network" / "20-wired.network").read_text()


def test_recipe_errors_name_the_file_and_field(recipe_dir, tmp_path):
    with pytest.raises(ConfigError, match="recipe.yaml: cannot read"):
        load_recipe(tmp_path / "nowhere")
    (recipe_dir / "recipe.yaml").write_text("suite: [bookworm]\n")
    with pytest.raises(ConfigError, match="field 'suite' must be a str"):
        load_recipe(recipe_dir)
    (recipe_dir / "recipe.yaml").write_text("packages: missing.txt\n")
    with pytest.raises(ConfigError, match="field 'packages': cannot read"):
        load_recipe(recipe_dir)


def fake_complete_image(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name in image_mod.IMAGE_FILES:
        (directory / name).write_text("{}" if name.endswith(".json") else "x")


def test_unchanged_recipe_reuses_changed_recipe_rebuilds(recipe_dir, cache, monkeypatch):
    builds = []

    def fake_build(recipe, progress, root):     # stands in for debootstrap: records that a build happened
        builds.append(recipe.key)
        fake_complete_image(root / recipe.key)
        return image_mod.Image(root / recipe.key, recipe.key, recipe.user)

    monkeypatch.setattr(image_mod, "_build_locked", fake_build)
    quiet = Progress(quiet=True)
    first = image_mod.build_image(load_recipe(recipe_dir), progress=quiet)
    again = image_mod.build_image(load_recipe(recipe_dir), progress=quiet)
    assert builds == [first.key] and again.directory == first.directory
    (recipe_dir / "packages.txt").write_text("systemd-sysv\nopenssh-server\nustreamer\n")
    changed = image_mod.build_image(load_recipe(recipe_dir), progress=quiet)
    assert builds == [first.key, changed.key] and changed.key != first.key
    image_mod.build_image(load_recipe(recipe_dir), progress=quiet, force=True)
    assert len(builds) == 3


def test_incomplete_image_is_not_reused(recipe_dir, cache):
    recipe = load_recipe(recipe_dir)
    directory = image_mod.images_dir() / recipe.key
    fake_complete_image(directory)
    assert image_mod.cached_image(recipe) is not None
    (directory / "image.json").unlink()        # what a build killed before its last step would leave
    assert image_mod.cached_image(recipe) is None


def test_stale_build_folders_of_dead_builders_are_removed(cache):
    root = image_mod.images_dir()
    dead = root / ".build-abc-999999999"
    alive = root / f".build-abc-{os.getpid()}"
    for folder in (dead, alive):
        (folder / "rootfs").mkdir(parents=True)
    image_mod._clean_stale_builds(root)
    assert not dead.exists() and alive.exists()


def test_building_without_root_says_so(recipe_dir, cache, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(PrerequisiteError, match="needs root"):
        image_mod.build_image(load_recipe(recipe_dir), progress=Progress(quiet=True))


def test_host_mirror_comes_from_the_apt_sources(tmp_path, monkeypatch):
    monkeypatch.delenv("IVV_MIRROR", raising=False)
    (tmp_path / "sources.list.d").mkdir()
    assert image_mod.host_mirror(tmp_path) == image_mod.DEFAULT_MIRROR
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://security.debian.org/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm\n")
    assert image_mod.host_mirror(tmp_path) == "http://mirror.example/debian"
    shutil.rmtree(tmp_path / "sources.list.d")
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text("# c\ndeb [arch=amd64] http://other.example/debian bookworm main\n")
    assert image_mod.host_mirror(tmp_path) == "http://other.example/debian"
    monkeypatch.setenv("IVV_MIRROR", "http://forced.example/debian")
    assert image_mod.host_mirror(tmp_path) == "http://forced.example/debian"


def test_missing_host_packages_are_listed_when_not_root(monkeypatch):
    monkeypatch.setitem(host_mod.HOST_TOOLS, "ivv-no-such-tool", "ivv-no-such-package")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert host_mod.missing_packages(("ivv-no-such-tool", "ssh")) == ["ivv-no-such-package"]
    with pytest.raises(PrerequisiteError, match="missing host packages: ivv-no-such-package.*apt-get install"):
        host_mod.ensure_host_tools(("ivv-no-such-tool",))
    host_mod.ensure_host_tools(("ssh",))      # present: nothing to do


def test_progress_prints_elapsed_step_lines(tmp_path, capsys):
    progress = Progress(stream=sys.stderr)  # without a stream it writes past pytest's capture
    progress.run("echoing", ["sh", "-c", "echo one; sleep 0.3; echo two"], tmp_path / "log", timeout=30,
                 heartbeat=0.1)
    err = capsys.readouterr().err
    assert "s] echoing: started" in err and "s] echoing: done" in err
    assert (tmp_path / "log").read_text() == "one\ntwo\n"


@pytest.mark.vdevice
def test_the_real_cached_image_is_reused(vdevice):
    started = time.monotonic()
    image = image_mod.build_image(load_recipe(), progress=Progress(quiet=True))
    assert time.monotonic() - started < 5, "an unchanged recipe must not rebuild"
    assert image.directory == vdevice.image.directory
    meta = json.loads((image.directory / "image.json").read_text())
    assert meta["key"] == load_recipe().key and meta["suite"] == "bookworm"
    # the image's own key is the one the device accepts, for the login user and root
    pub = (image.directory / "id_ed25519.pub").read_text().split()[1]
    assert pub in vdevice.run("cat ~/.ssh/authorized_keys").stdout
    assert pub in vdevice.run("sudo cat /root/.ssh/authorized_keys").stdout
    assert not vdevice.run("ls /var/lib/apt/lists/ | grep -q _Packages").succeeded, "apt lists left in the image"


def test_sweep_removes_only_quiet_leftovers(cache):
    from ivv.vdevice import machine

    runs = machine.runs_dir()
    old, busy = runs / "vdevice-old", runs / "vdevice-busy"
    for folder in (old, busy):
        folder.mkdir()
        (folder / "state.json").write_text('{"pid": 999999999}')
    past = time.time() - 3600
    for path in (old, old / "state.json"):
        os.utime(path, (past, past))
    machine.sweep_stale_runs()
    assert not old.exists() and busy.exists()
