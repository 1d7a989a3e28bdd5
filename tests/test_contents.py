"""What was deployed: package listings of every form a profile's command may print, and the device's dpkg."""

from ivv.ops.contents import deployed, parse_packages
from ivv.stack.device import DeviceStack
from ivv.targets.local import LocalTarget


def test_package_lines_of_every_form():
    text = ("websockets-13.1-cp311-cp311-manylinux_2_17_x86_64.whl\n/opt/x/wheelhouse/PyYAML-6.0.2-cp311-cp311-"
            "linux_x86_64.whl\njinja2==3.1.4\nffmpeg 7:5.1.6-0+deb12u1\n# comment\n\n")
    assert parse_packages(text) == {"websockets": "13.1", "pyyaml": "6.0.2", "jinja2": "3.1.4",
                                    "ffmpeg": "7:5.1.6-0+deb12u1"}


def test_deployed_contents_read_on_the_target(tmp_path, profile):
    (tmp_path / "wheelhouse").mkdir()
    (tmp_path / "wheelhouse" / "requests-2.32.3-py3-none-any.whl").write_text("")
    data = dict(profile.data, deployment={**profile.deployment, "packages_command": f"ls {tmp_path}/wheelhouse"})
    stack = DeviceStack(LocalTarget("bench"), type(profile)(profile.path, data), "staging")
    found = deployed(stack, "1.1.0", "ab" * 32)
    assert found["python_packages"] == {"requests": "2.32.3"} and found["version"] == "1.1.0"
    assert "debian_packages" not in found or "python3" in found["debian_packages"]
