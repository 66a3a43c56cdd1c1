"""The timeline's panels: which signals are drawn together, with their labels.

One definition shared by ``timeline.png`` (:mod:`dfec.dynamics.plot`) and the report page's
timeline lanes (:mod:`dfec.report`), so both show the same measurements. Each panel is
``(region, title, ((signal, label, as deviation from neutral), ...))``.
"""
from __future__ import annotations

PANELS = (
    ("eyes", "eye openness (EAR)", (("ear_left", "image-left eye", False), ("ear_right", "image-right eye", False))),
    ("mouth", "mouth (dev. from neutral)", (("mouth_open", "opening", True), ("mouth_width", "width (rel.)", True),
                                             ("corner_lift", "corner lift", True))),
    ("brows", "brows (rel. dev.)", (("brow_height", "height", True), ("brow_inner", "inner distance", True))),
    ("head", "head pose (deg)", (("yaw", "yaw (+ face to image right)", False), ("pitch", "pitch (+ up)", False),
                                 ("roll", "roll (+ to image right)", False))),
)
MESH_PANELS = (
    ("lids", "lids (/ iris diam.)", (("aperture", "lid aperture", False), ("iris_dark", "iris darkness", False))),
    ("gaze", "gaze in head (deg)", (("gaze_h", "+ image right", False), ("gaze_v", "+ up", False))),
    ("interior", "mouth interior", (("lip_gap", "3-D lip gap", False), ("teeth", "teeth (% scale^2)", False))),
    ("lower", "lower face (rel. dev.)", (("lip_thick", "lip thickness", True), ("chin", "lip-chin", True),
                                         ("cheek", "cheeks", True), ("nose", "alae", True))),
)
#: the panel each event region is shaded in
PANEL_OF = {"eyes": ("eyes", "lids"), "gaze": ("gaze",), "mouth": ("mouth", "interior"), "brows": ("brows",),
             "head": ("head",), "cheeks": ("lower",), "nose": ("lower",)}


def panels_for(values) -> tuple:
    """The panels to draw for a track's signal ``values``: the mesh panels only when the track
    has mesh signals (``aperture``)."""
    return PANELS + (MESH_PANELS if values is not None and "aperture" in values else ())
