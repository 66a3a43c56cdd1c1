"""The iBUG-68 view of MediaPipe's 468-point face mesh.

``MESH_TO_68[i]`` is the mesh vertex that stands for iBUG point ``i`` (x, y taken from the
mesh; z dropped). Chosen by following MediaPipe's named contours (face oval, brows, eyelids,
lips) at the positions of the iBUG definition; the jaw vertices were then picked along the face
oval as the ones nearest dlib's points on two frontal dev clips (RAVDESS, liveportrait d12;
symmetric pairs). Measured against dlib's own 68 on held-out frontal clips with
``benchmarks/wild_coverage.py mesh68`` (figure in the README).

=======  ==========================  ===========================================================
iBUG     part                        mesh vertices
=======  ==========================  ===========================================================
0-16     jaw, image-left to right    face oval 127, 234, 132, 58, 172, 136, 149, 148, 152 (chin),
                                     then the mirror vertices 377 ... 356
17-21    subject's right brow        upper brow contour 70, 63, 105, 66, 107 (outer -> inner)
22-26    subject's left brow         336, 296, 334, 293, 300 (inner -> outer)
27-30    nose bridge to tip          168, 197, 5, 4
31-35    nostrils, right to left     98, 97, 2 (subnasale), 326, 327
36-41    subject's right eye         33 (outer corner), 160, 158, 133 (inner), 153, 144
42-47    subject's left eye          362 (inner corner), 385, 387, 263 (outer), 373, 380
48-59    outer lips                  61 (corner), 40, 37, 0, 267, 270, 291, 321, 314, 17, 84, 91
60-67    inner lips                  78, 81, 13, 311, 308, 402, 14, 178
=======  ==========================  ===========================================================
"""
from __future__ import annotations

import numpy as np

MESH_TO_68 = np.array([
    127, 234, 132, 58, 172, 136, 149, 148, 152, 377, 378, 365, 397, 288, 361, 454, 356,  # jaw
    70, 63, 105, 66, 107,                  # right brow
    336, 296, 334, 293, 300,               # left brow
    168, 197, 5, 4,                        # nose bridge
    98, 97, 2, 326, 327,                   # nostrils
    33, 160, 158, 133, 153, 144,           # right eye
    362, 385, 387, 263, 373, 380,          # left eye
    61, 40, 37, 0, 267, 270, 291, 321, 314, 17, 84, 91,  # outer lips
    78, 81, 13, 311, 308, 402, 14, 178,    # inner lips
], dtype=np.int64)

#: mesh vertices used elsewhere: outer eye corners (ROI angle) and each eye's two corners (iris)
RIGHT_EYE_OUTER, LEFT_EYE_OUTER = 33, 263
RIGHT_EYE_CORNERS = (33, 133)   # subject's right eye: outer, inner corner
LEFT_EYE_CORNERS = (362, 263)   # subject's left eye: inner, outer corner


#: the Iris model's 71 eye-region points (eye contour, lower ring then upper ring without the
#: corners; four halo rings; brow) as mesh vertices, for the subject's right eye; MediaPipe's
#: iris graph writes them over the mesh (the mesh alone barely closes its eyelids in a blink)
RIGHT_EYE_REGION = np.array([
    33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173,   # eye contour
    130, 25, 110, 24, 23, 22, 26, 112, 243, 247, 30, 29, 27, 28, 56, 190,          # halo 2
    226, 31, 228, 229, 230, 231, 232, 233, 244, 113, 225, 224, 223, 222, 221, 189,  # halo 3
    35, 124, 46, 53, 52, 65,                                                        # halo 4 / brow
    143, 111, 117, 118, 119, 120, 121, 128, 245,                                    # halo 5
    156, 70, 63, 105, 66, 107, 55, 193,                                             # brow outer
], dtype=np.int64)
#: the same points for the subject's left eye (the mesh's mirror vertices)
LEFT_EYE_REGION = np.array([
    263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398,
    359, 255, 339, 254, 253, 252, 256, 341, 463, 467, 260, 259, 257, 258, 286, 414,
    446, 261, 448, 449, 450, 451, 452, 453, 464, 342, 445, 444, 443, 442, 441, 413,
    265, 353, 276, 283, 282, 295,
    372, 340, 346, 347, 348, 349, 350, 357, 465,
    383, 300, 293, 334, 296, 336, 285, 417,
], dtype=np.int64)


#: the mesh's 28 midline vertices (forehead, nose ridge, lips' centres, chin): their own mirror images
MESH_MIDLINE = (0, 1, 2, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 94, 151, 152, 164, 168,
                175, 195, 197, 199, 200)


def _mirror_index() -> np.ndarray:
    """The vertex that is each vertex's left-right mirror image. MediaPipe numbers the mesh so that
    the k-th vertex below 248 that is not on the midline pairs with vertex 248 + k (33 <-> 263,
    133 <-> 362, 61 <-> 291, 127 <-> 356, ...). Measured, not assumed: FaceMesh run on 46 frontal
    frames (RAVDESS and four dev clips) and on the same crops mirrored gives, by optimal
    assignment of the mirrored run's points to the direct run's, exactly this involution (mean
    distance 0.03 of the outer-eye-corner span); ``tests/test_mediapipe.py`` checks it against
    the 68-point view's pairs and the two eyes' 71 Iris-region vertices."""
    mid = set(MESH_MIDLINE)
    side = [i for i in range(248) if i not in mid]
    idx = np.arange(468)
    for k, i in enumerate(side):
        idx[i], idx[248 + k] = 248 + k, i
    return idx


#: ``MESH_MIRROR[i]``: the vertex on the other side of the face from vertex ``i`` (itself on the
#: midline); an involution
MESH_MIRROR = _mirror_index()


def mesh_to_68(mesh: np.ndarray) -> np.ndarray:
    """(..., 468, 2+) mesh -> (..., 68, 2) iBUG-68 points (float64)."""
    return np.asarray(mesh)[..., MESH_TO_68, :2].astype(np.float64)
