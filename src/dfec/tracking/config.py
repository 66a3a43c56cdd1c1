"""One configuration dataclass for the whole face tracking module (paper).

Defaults follow the paper (16 fps decoding, N = 16 frames, K-means with 2 clusters for the main
character) and StrongSORT (Du et al., 2023: EMA alpha 0.9, appearance/motion weight lambda 0.98,
chi-square 95% gate on 4 dof, IoU stage with max IoU distance 0.7, max_age 30, n_init 3, GSI gap
20). Values that the paper leaves open (detector downscaling, how often the 128-d embedding is
recomputed, the cosine threshold for dlib's embedding space) are documented per field.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

#: 0.95 quantile of the chi-square distribution with 4 degrees of freedom (x, y, a, h)
CHI2INV95_4DOF = 9.4877

#: face backends: the MediaPipe stack (default) and dlib's two detectors
DETECTORS = ("mediapipe", "hog", "cnn")


@dataclass
class TrackConfig:
    # decoding and output (paper: 16 fps, N = 16 frames)
    fps: float = 16.0
    n_frames: int = 16

    # detection: "mediapipe" (default: BlazeFace full range + short range, FaceMesh 468 points
    # and Iris, tracked frame to frame from the mesh, see dfec.faces.facemesh), or dlib's "hog"
    # (HOG + SVM) / "cnn" (MMOD) with dlib's 68-point predictor
    detector: str = "mediapipe"
    detect_upsample: int = 0
    #: frames larger than this (longest side, pixels) are shrunk before detection; None = never
    detect_max_side: int | None = 640
    #: run the detector on the whole frame every this many frames (and whenever no track is
    #: alive); in between only around the tracks' last boxes. 1 = always the whole frame
    detect_full_every: int = 4
    roi_expand: float = 0.75           # region = box grown by this fraction on every side
    roi_face_px: int = 100             # regions are shrunk so the face is about this tall

    # mediapipe backend: the mesh of frame t gives the ROI of frame t+1 (MediaPipe / OpenFace
    # style); BlazeFace runs on the whole frame at start-up, when a face's mesh presence drops
    # below ``mesh_min_presence`` and every ``mesh_redetect_every`` frames (new faces)
    mesh_min_presence: float = 0.5
    mesh_redetect_every: int = 8
    #: keep a BlazeFace face whose mesh presence is low (full profile, deep shadow: FaceMesh
    #: scores a toddler in profile 0.0) as a detection without mesh (its rows stay NaN)
    keep_unmeshed: bool = True
    #: such a face is followed by BlazeFace on a crop this many face sizes wide around its last box
    #: (where it is large enough for the detector when the whole-frame pass misses it)
    weak_roi_scale: float = 2.0
    #: ... and looked for there for this many frames after it was last found (1 = drop at once)
    weak_patience: int = 8
    #: ... and FaceMesh is tried on it again every this many frames (1 = every frame)
    weak_mesh_every: int = 4
    #: Iris runs only on meshed faces at least this tall (pixels): below it an iris is ~5 px across
    #: and its points are noise; those rows keep NaN iris points. 0 = always
    iris_min_face_px: int = 64
    detect_min_score: float = 0.5      # BlazeFace score threshold (MediaPipe's default)
    with_iris: bool = True
    #: FaceMesh reads each face ROI twice, as it is and mirrored, and averages the two meshes
    #: (flip test-time augmentation, :mod:`dfec.faces.facemesh` step 2): one read is not
    #: mirror-symmetric, and captions of mirrored dev clips differed (benchmarks/caption_robustness.py)
    mesh_flip_average: bool = True
    #: ... on faces at least this tall (px, brows to chin): below it a face's details are not read
    #: (``DynamicsConfig.min_detail_px`` 30 px between the outer eye corners; that distance is
    #: 0.61-0.69 of this height on dev 167, 338, 2422, nggyup, so 30 px is 43-49 px tall), and the
    #: second read costs ~1.1 ms a face (a crowd of small faces, Hamilton's audience). 64 (the Iris
    #: gate) left dev 338 (52 px, its details read) with one read, and its mirrored caption apart
    mesh_flip_min_face_px: int = 44
    #: with the mesh backend a face is followed by its own ROI, so identity embeddings are
    #: needed when a track is born or re-found, and then only every this many frames (S_k)
    mesh_embed_every: int = 32

    # identity embeddings (dlib ResNet, 128-d): recomputed for a track at most every
    # ``embed_every`` frames when its match is unambiguous; always for new, unconfirmed or
    # ambiguous (overlapping) tracks
    embed_every: int = 4

    # StrongSORT association
    ema_alpha: float = 0.9             # EMA feature bank: f_t = alpha f_{t-1} + (1 - alpha) e_t
    mc_lambda: float = 0.98            # cost = lambda * appearance + (1 - lambda) * motion
    gating_threshold: float = CHI2INV95_4DOF
    #: the combined cost above which a pair is not matched; dlib's embedding space is compact
    #: (different people are ~0.12-0.2 apart in cosine distance) so this is tighter than ReID's
    max_cosine_distance: float = 0.2
    max_iou_distance: float = 0.7
    max_age: int = 30
    n_init: int = 3
    nsa: bool = True                   # NSA Kalman: measurement noise scaled by (1 - confidence)
    #: Kalman noise per unit box height. DeepSORT/StrongSORT use 1/20 and 1/160 for pedestrians
    #: at 25-30 fps; faces at 16 fps move (and HOG boxes jump in size) several times more per
    #: frame relative to their height, so the same face fell outside the chi-square gate in ~10%
    #: of frames on the Hamilton clip; 1/10 and 1/40 keep the gate and lambda untouched
    std_weight_position: float = 1.0 / 10
    std_weight_velocity: float = 1.0 / 40

    #: offline linking of tracklets of one face (a long occlusion, a cut and back): two identity
    #: groups are joined when they never share a frame and the mean embeddings of the groups (all
    #: their views, ``link_views`` per tracklet; centroid linkage, dfec.tracking.link.link_groups)
    #: are within this cosine distance; 0 disables. Measured on those means (scripts in the
    #: commit message): the same person across cuts 0.014-0.045 (ghost__dirtydancing's two
    #: dancers; ghost__nggyup's singer, wide shot vs medium shot 0.045), different people across
    #: cuts in dirtydancing 0.079-0.18; but the main faces of different dev / no-split clips
    #: (4 views each) from 0.031 (two different East Asian men: dlib's embedding separates them
    #: poorly), 6% of such pairs at most 0.05, 15% at most 0.07 (the old threshold, on one view
    #: per tracklet, where one person's views scatter up to 0.085). 0.05 keeps every measured
    #: same-person link and halves the different-person pairs it would join
    link_max_distance: float = 0.05
    #: tracklets of one shot are appearance-linked only when the face could have moved from where
    #: one was last seen to where the other was first seen: at most 1 + this many face heights per
    #: second of gap (dfec.tracking.link.reachable). The fastest 1-s displacement of any tracked
    #: face in the dev clips and the clips in no split is 2.58 face heights (dirtydancing's panning
    #: crowd shot; all others 0.96 or less); 0 = only the 1-face-height allowance
    link_max_speed: float = 3.0
    #: detect gradual shot transitions (cross-dissolves, :mod:`dfec.video.transitions`) besides hard
    #: cuts: the tracklets end at one and it is recorded in ``TrackingResult.shot_changes``; False:
    #: hard cuts only (the detector's own settings are :class:`dfec.video.transitions.TransitionConfig`)
    transitions: bool = True
    #: tracklets of one shot are chained without embeddings when one starts at most this many
    #: frames after another ended, where it ended (dfec.tracking.link.motion_groups); 0 disables
    link_motion_gap: int = 24
    #: a tracklet is appearance-linked only when its best view has at least this identity quality
    #: (dfec.tracking.strongsort.identity_quality: face height up to 112 px times frontality): the
    #: Hamilton audience in profile scored 0.13-0.17, the performer 0.32 (wide shot) to 0.68
    link_min_quality: float = 0.2
    #: appearance linking compares up to this many views of each tracklet (the best one and the
    #: next best, each at least ``link_view_spacing`` frames from the others; deferred embeddings
    #: computed only for tracklets linking can use). One view of a face is a noisy sample: two
    #: views of one person in one clip are up to 0.082 apart (99%, dev and no-split clips), the
    #: means of 4 views up to ~0.04
    link_views: int = 4
    link_view_spacing: int = 8

    # GSI-style gap filling: linear interpolation of gaps up to ``gsi_max_gap`` frames, then a
    # Gaussian smoother (``gsi_sigma`` frames) on the box trajectory; 0 disables smoothing
    gsi_max_gap: int = 20
    gsi_sigma: float = 1.5

    # main character selection (paper Eq. 3): K-means, k = 2, on standardised (A_k, S_k)
    kmeans_clusters: int = 2
    #: weight A_k by screen time (share of the video's frames where the face was detected). A
    #: detector that also finds 3/4 and profile faces sees both sides of a dialogue; unweighted,
    #: the other person's brief close-up after a cut (8 of 33 frames in wild clip
    #: samplenew_00051251, 4 of 38 in samplenew_00061200) outranked the person on screen the rest
    #: of the time, and all N selected frames collapsed onto it
    area_by_screen_time: bool = True
    #: S_k of a track with fewer than two embeddings (1.0 by convention) is set to the mean S_k
    #: of the others before K-means (the mesh backend embeds rarely, so short tracks have one);
    #: with both switches the Dirty Dancing clip's main tracks are the dancers, not crowd faces
    neutral_single_similarity: bool = True
    seed: int = 0
    #: S_k is standardised by at least this (cosine similarity): dlib's same-person similarities
    #: scatter by ~0.02-0.05, so a smaller spread of S_k over the tracks is noise. On Dirty Dancing
    #: (S_k 0.938-0.973) the raw spread put the male dancer in the crowd's cluster; 0 = plain z-score
    similarity_std_floor: float = 0.05
    #: at most this many embeddings per track enter S_k's pairwise mean
    similarity_max_embeddings: int = 64

    # crops and contact sheet; frames are kept in memory during tracking up to this many MB so
    # the selected ones need no second decoding pass (above it, the video is decoded again)
    frame_cache_mb: int = 512
    crop_size: int = 224
    crop_margin: float = 0.08
    sheet_columns: int = 4
    sheet_thumb_width: int = 320

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def __post_init__(self) -> None:
        if self.fps <= 0:
            raise ValueError("fps must be positive")
        if self.n_frames < 1:
            raise ValueError("n_frames must be at least 1")
        if self.detect_max_side is not None and self.detect_max_side <= 0:
            raise ValueError("detect_max_side must be None (never shrink) or positive")
        if self.detect_upsample < 0:
            raise ValueError("detect_upsample must be 0 or more")
        if self.detect_full_every < 1:
            raise ValueError("detect_full_every must be at least 1")
        if self.embed_every < 1 or self.mesh_embed_every < 1:
            raise ValueError("embed_every and mesh_embed_every must be at least 1")
        if self.detector not in DETECTORS:
            raise ValueError(f"unknown detector {self.detector!r} (choose {', '.join(DETECTORS)})")
        if self.mesh_redetect_every < 1:
            raise ValueError("mesh_redetect_every must be at least 1")
        if self.weak_patience < 1 or self.weak_mesh_every < 1:
            raise ValueError("weak_patience and weak_mesh_every must be at least 1")
        if not 0.0 <= self.ema_alpha <= 1.0 or not 0.0 <= self.mc_lambda <= 1.0:
            raise ValueError("ema_alpha and mc_lambda lie in [0, 1]")
        if self.link_max_speed < 0:
            raise ValueError("link_max_speed must be 0 or more")
        if self.mesh_flip_min_face_px < 0 or self.iris_min_face_px < 0:
            raise ValueError("mesh_flip_min_face_px and iris_min_face_px must be 0 or more")
        if self.link_views < 1 or self.link_view_spacing < 1:
            raise ValueError("link_views and link_view_spacing must be at least 1")
