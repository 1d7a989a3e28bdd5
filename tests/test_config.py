"""YAML loading with line numbers: every schema problem names file, line, field and what was expected."""

import pytest

from ivv.config import loader as config
from ivv.errors import ConfigError


def _write(tmp_path, text):
    path = tmp_path / "doc.yaml"
    path.write_text(text)
    return path


def test_line_map_points_at_nested_fields(tmp_path):
    path = _write(tmp_path, "gate:\n  id: x\ncriteria:\n  - id: a.b\n    threshold:\n      op: '<'\n")
    data, lines = config.read_yaml(path)
    assert data["criteria"][0]["threshold"]["op"] == "<"
    assert lines[("criteria", 0, "threshold", "op")] == 6
    assert lines[("criteria", 0, "id")] == 4


def test_dates_stay_strings(tmp_path):
    data, _ = config.read_yaml(_write(tmp_path, "expires: 2026-12-31\n"))
    assert data == {"expires": "2026-12-31"}


def test_missing_file_and_empty_file_are_named(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml: file not found"):
        config.read_yaml(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="file is empty; expected a gate document"):
        config.load(_write(tmp_path, "# nothing\n"), "gate")


def test_unknown_field_error_points_at_the_typo_line(tmp_path):
    text = "gate: {id: g, title: t}\ncriteria:\n  - id: a.b\n    title: t\n    requirement: r\n" \
           "    mandatory: true\n    suite: demo\n    thresold: {op: '<', value: 1}\n"
    with pytest.raises(ConfigError) as info:
        config.load(_write(tmp_path, text), "gate")
    assert "doc.yaml:8: criteria[0].thresold" in str(info.value)
    assert "allowed fields" in str(info.value)


def test_field_path_formatting():
    assert config.field_path(["criteria", 2, "threshold", "op"]) == "criteria[2].threshold.op"
    assert config.field_path([]) == "(top level)"
