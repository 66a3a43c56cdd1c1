"""The decoded frames that the tracking outputs will need, kept during tracking.

``write_outputs`` draws the aligned crops and the contact sheet at the N selected frames
(:func:`~dfec.tracking.selection.select_frames`): the N uniform picks over the clip, each one
without a main face replaced by the nearest frame that has one. Which frames those are is known
only at the end, so the tracking loop offers every frame to a :class:`FrameCache`, which keeps:

- the uniform picks for the frame counts nearest the expected ``D * fps`` (a clip of duration D
  gives ``round(D * fps)`` frames at ``fps``: so on all 32 shared clips; the count is known
  only at the end), i.e. ``floor`` and ``ceil`` of it;
- at a pick where no face was found: the last earlier frame with a face, and the frames after
  the pick up to the first one with a face (the candidates for its replacement);
- the two frames around each shot cut: where the main character is off screen for a whole shot
  (another face fills it), the nearest frames with their face are the last one before the cut
  and the first one after the next cut (on the Hamilton clip, 3 of the 16 selected frames).

A selected frame it does not hold (the main face missing where another face was found, a frame
count far from the expected one) is decoded again by ``write_outputs``. Keeping every frame of a
short clip instead cost one frame-sized copy per frame (about 0.5 ms for a 720p frame, most of it
page faults on fresh memory): a few percent of the whole ``dfec track`` job.

A kept frame is a copy unless the array owns its memory: a view of a decoded PyAV frame kept
alive pins FFmpeg frame memory, and on a 720p clip RSS then grew ~0.5 MB with every later frame.
Past ``budget_mb`` the cache gives up (:attr:`frames` becomes None): the selected frames are
then all decoded again at the end.
"""
from __future__ import annotations

import math

import numpy as np

from ..video.reader import uniform_indices


class FrameCache:
    """Frames kept for the outputs; see the module doc. ``expected`` is the frame count the
    container's duration gives (``D * fps``, a float); None or 0 (length unknown) keeps every
    frame, up to the budget."""

    def __init__(self, expected: float | None, n: int, budget_mb: float):
        self.frames: dict[int, np.ndarray] | None = {}
        self.budget = float(budget_mb) * 2**20
        self.bytes = 0
        self.picks: set[int] | None = None
        if expected and expected > 0:
            self.picks = set()
            for m in {math.floor(expected), math.ceil(expected)}:
                self.picks.update(uniform_indices(max(1, m), n))
        self._last_face: tuple[int, np.ndarray] | None = None  # latest frame with a face (not copied)
        self._prev: tuple[int, np.ndarray] | None = None       # the previous frame (not copied)
        self._forward = False  # keep frames until one with a face (after a pick without one)

    def offer(self, idx: int, rgb: np.ndarray, repeated: bool = False) -> None:
        """Frame ``idx`` was decoded (``repeated``: the same source frame as ``idx - 1``)."""
        if self.frames is not None and (self.picks is None or idx in self.picks or self._forward):
            self._keep(idx, rgb, repeated)

    def faces(self, idx: int, rgb: np.ndarray, found: bool, cut: bool = False) -> None:
        """Whether any face was found in frame ``idx`` (called after :meth:`offer`), and whether a
        shot cut lies between the previous frame and this one."""
        if self.frames is None:
            return
        if cut and self.picks is not None:
            if self._prev is not None:
                self._keep(*self._prev)
            self._keep(idx, rgb)
        self._prev = (idx, rgb)
        if found:
            self._forward = False
            self._last_face = (idx, rgb)
        elif self.picks is not None and idx in self.picks:
            if self._last_face is not None:
                self._keep(*self._last_face)
            self._forward = True

    def _keep(self, idx: int, rgb: np.ndarray, repeated: bool = False) -> None:
        if self.frames is None or idx in self.frames:
            return
        if repeated and idx - 1 in self.frames:
            self.frames[idx] = self.frames[idx - 1]
            return
        self.bytes += rgb.nbytes
        if self.bytes > self.budget:
            self.frames = None  # too many to keep: write_outputs decodes the selected frames again
            self._last_face = self._prev = None
            return
        self.frames[idx] = rgb if rgb.flags.owndata else rgb.copy()
