"""The playback benchmark's accounting (benchmarks/playback.py `summarize`): which draws count
as the 5 s of play, what is a dropped or a skipped frame. Synthetic draw records at 60 Hz
animation frames, as Chromium delivers them; no browser."""

from __future__ import annotations

import math

import pytest

from benchmarks.playback import Playback, summarize

VSYNC = 1000 / 60


def _on_vsync(t: float) -> float:
    """The first animation frame at or after t (what a rAF loop sees)."""
    return math.ceil(t / VSYNC - 1e-9) * VSYNC


def _play(n: int, fps: float = 30.0, start: float = 300.0, hitch: tuple[int, float] | None = None,
          jump: int | None = None) -> list[list[float]]:
    """Draws as the widget's Pacer makes them: frame k due k periods after the first, drawn on
    the next vsync; a hitch of `ms` before frame i restarts the clock from there (the Pacer
    rebases after a tick more than a period late); `jump` skips one frame index there."""
    period, due, draws, index = 1000 / fps, start, [], 1
    for k in range(n):
        if hitch and k == hitch[0]:
            due += hitch[1]
        t = _on_vsync(due)
        if jump is not None and k == jump:
            index += 1
        draws.append([t, index, 2.0])
        late = t - due
        due = t + period if late > period else due + period
        index += 1
    return draws


def test_every_due_frame_at_30_fps_counts_150_in_5_s() -> None:
    r = summarize(Playback(30.0, 5.0, expected=150), 0.0, _play(200), [], [])
    assert (r.drawn, r.dropped, r.skipped) == (150, 0, 0)
    assert r.startup_ms == pytest.approx(_on_vsync(300.0))
    assert r.interval_median_ms == pytest.approx(1000 / 30, abs=VSYNC / 2)


def test_a_hitch_drops_the_frames_it_covers() -> None:
    r = summarize(Playback(30.0, 5.0, expected=150), 0.0, _play(200, hitch=(60, 200.0)), [], [])
    assert r.dropped == 6 and r.skipped == 0  # 200 ms at 30 fps
    assert r.interval_max_ms == pytest.approx(200 + 1000 / 30, abs=VSYNC)


def test_a_frame_jumped_over_counts_as_skipped() -> None:
    r = summarize(Playback(30.0, 5.0, expected=150), 0.0, _play(200, jump=40), [], [])
    assert (r.drawn, r.skipped) == (150, 1)
    assert not r.met


def test_draws_before_play_and_replies_are_paired_in_order() -> None:
    before = [[-50.0, 0, 2.0]]  # the frame shown before Play
    sent, received = [10.0, 12.0, 400.0], [[250.0, 8e6], [330.0, 8e6], [520.0, 8e6]]
    r = summarize(Playback(30.0, 1.0, expected=30), 0.0, before + _play(40), sent, received)
    assert r.drawn == 30 and r.met
    assert r.reply_median_ms == pytest.approx(240.0) and r.batch_mb == pytest.approx(8.0)
