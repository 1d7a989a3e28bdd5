"""Counting camera frames without a service: the MJPEG parser, the JPEG check, repeated and broken frames,
the sustained-fps window, and where frames come from in a profile."""

import io
from types import SimpleNamespace

import pytest
from PIL import Image

from ivv.errors import ProfileError
from ivv.load.frames import FrameSpec, MjpegParser, check_jpeg, count, frame, frames_from_events

SPEC = FrameSpec("media", "stream", "/stream", 64, 48, 10.0)


def jpeg(width=64, height=48, shade=0) -> bytes:
    """A small JPEG whose content (a dot's place and colour) differs for each `shade`."""
    image = Image.new("RGB", (width, height), (20, 40, 90))
    image.putpixel((shade % width, (shade // width) % height), (255, 255, (shade * 37) % 256))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def part(data: bytes, length=True) -> bytes:
    head = b"--frame\r\nContent-Type: image/jpeg\r\n" + (b"Content-Length: %d\r\n" % len(data) if length else b"")
    return head + b"\r\n" + data + b"\r\n"


HEAD = b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary=frame\r\n\r\n"


def test_parser_splits_parts_across_any_chunking():
    frames = [jpeg(shade=i) for i in range(5)]
    data = HEAD + b"".join(part(f) for f in frames)
    for size in (1, 7, 100, len(data)):
        parser, out = MjpegParser(), []
        for i in range(0, len(data), size):
            out += parser.feed(data[i:i + size])
        assert out == frames and parser.error is None


def test_parser_without_content_length_uses_the_next_boundary():
    frames = [jpeg(shade=i) for i in range(3)]
    parser = MjpegParser()
    out = parser.feed(HEAD + b"".join(part(f, length=False) for f in frames) + b"--frame\r\n")
    assert out == frames


def test_parser_reports_an_http_error_and_a_non_multipart_answer():
    parser = MjpegParser()
    assert parser.feed(b"HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnot found\n") == []
    assert parser.error == "HTTP 404"
    parser = MjpegParser()
    parser.feed(b"HTTP/1.0 200 OK\r\nContent-Type: image/jpeg\r\n\r\n" + jpeg())
    assert "not a multipart" in parser.error


def test_a_frame_counts_only_as_a_complete_jpeg_of_the_expected_size():
    good = jpeg()
    assert check_jpeg(good, 64, 48) is None
    assert "size 32x48" in check_jpeg(jpeg(32, 48), 64, 48)
    assert "does not decode" in check_jpeg(good[: len(good) // 2], 64, 48)
    assert "does not decode" in check_jpeg(b"\xff\xd8 not a picture \xff\xd9", 64, 48)
    png = io.BytesIO()
    Image.new("RGB", (64, 48)).save(png, "PNG")
    assert "not a JPEG" in check_jpeg(png.getvalue(), 64, 48)


def test_count_finds_a_stall_that_a_mean_would_hide():
    # 10 fps for 20 s, except nothing from 10 s to 15 s: the mean is 7.5 fps, one window is 0
    frames = [frame(100 + i / 10, jpeg(shade=i), SPEC) for i in range(200) if not 100 <= i < 150]
    out = count(frames, 100.0, 120.0, SPEC, window_s=5)
    assert out["windows"] == 4 and out["sustained_fps"] == 0.0
    assert out["mean_fps"] == pytest.approx(7.5) and out["delivered"] == 150
    assert out["dropped"] == 50 and out["expected"] == 200
    assert out["longest_gap_s"] == pytest.approx(5.1, abs=0.01)
    assert out["per_second"][10:15] == [0] * 5 and out["per_second"][0] == 10


def test_repeated_and_broken_frames_do_not_count():
    same = jpeg(shade=1)
    frames = [frame(0.1 * i, same, SPEC) for i in range(50)]            # a frozen picture, re-sent
    frames += [frame(5 + 0.1 * i, jpeg(32, 48, shade=i), SPEC) for i in range(50)]  # the wrong size
    out = count(frames, 0.0, 10.0, SPEC, window_s=5)
    assert out["delivered"] == 1 and out["repeated"] == 49 and out["invalid"] == 50
    assert out["problems"] == {"size 32x48, expected 64x48": 50}
    assert out["sustained_fps"] == 0.0


def test_a_window_shorter_than_one_fps_window_has_no_figure():
    assert count([], 0.0, 3.0, SPEC, window_s=5)["sustained_fps"] is None


def test_events_to_frames_for_a_stream_and_for_snapshots():
    a, b = jpeg(shade=1), jpeg(shade=2)
    events = [("E", 0.5, "connect: refused"), ("O", 1.0, None), ("C", 1.1, HEAD + part(a)[:30]),
              ("C", 1.2, part(a)[30:] + part(b)), ("E", 1.3, "closed by the server")]
    frames, seen = frames_from_events(events, SPEC)
    assert [f.t for f in frames] == [1.2, 1.2] and all(f.problem is None for f in frames)
    assert seen == {"answered": 1, "errors": {"connect": 1, "closed by the server": 1}}
    snap = FrameSpec("media", "snapshot", "/snapshot", 64, 48, 10.0)
    events = [("R", 2.0, b"HTTP/1.0 200 OK\r\nContent-Type: image/jpeg\r\n\r\n" + a),
              ("R", 2.1, b"HTTP/1.0 503 Service Unavailable\r\n\r\nno frame yet\n")]
    frames, seen = frames_from_events(events, snap)
    assert len(frames) == 1 and seen == {"answered": 1, "errors": {"HTTP 503": 1}}


def _profile(frame_entry, sections=None):
    data = {"camera": {"stream": frame_entry}, **(sections or {"media": {"port": 8080}})}
    return SimpleNamespace(path="stack/profile.yaml", camera=data["camera"], data=data)


def test_frame_spec_from_the_profile_and_its_errors():
    spec = FrameSpec.from_profile(_profile({"port": "media", "snapshot": "/snapshot", "width": 640, "height": 480,
                                            "fps": 10}))
    assert (spec.section, spec.mode, spec.path, spec.width) == ("media", "snapshot", "/snapshot", 640)
    assert FrameSpec.from_profile(SimpleNamespace(path="p", camera={}, data={})) is None
    with pytest.raises(ProfileError, match=r"camera\.stream: give exactly one of stream or snapshot"):
        FrameSpec.from_profile(_profile({"port": "media", "stream": "/s", "snapshot": "/t", "width": 1,
                                         "height": 1, "fps": 1}))
    with pytest.raises(ProfileError, match=r"camera\.stream\.port: 'camera' is not a profile section"):
        FrameSpec.from_profile(_profile({"port": "camera", "stream": "/s", "width": 1, "height": 1, "fps": 1}))
