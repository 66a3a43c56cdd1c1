"""Timeline plot: the per-frame signals of the main track with the detected events marked.

Panels share the video's time axis: eyes (EAR of both eyes), mouth (inner-lip gap, mouth width
and lip-corner lift as deviations from the neutral frame), brows (brow height and inner-brow
distance, relative deviations) and head pose (yaw, pitch, roll in degrees). Tracks with a mesh
add: lids (lid aperture / iris diameter, iris darkness), gaze (eye-in-head angles), mouth
interior (3-D lip gap, teeth area) and lower face (lip thickness, chin, cheeks, nose, relative
deviations). Events are shaded in the panel of their face region and labelled with their kind;
dashed lines mark the caption phases. Frames whose mouth is hidden (``FaceSignals.mouth_occluded``,
a hand over it: no mouth movement is read there) are hatched in the mouth panels ("mouth hidden"),
and the tracker's shot changes (``FaceSignals.shot_changes``: hard cuts, dissolves) are dark grey
in every panel ("shot change"): no change is read across one.

The speech panel (mouth interior on mesh tracks, else mouth: the one with the lip gap the speech
segmenter reads, :func:`~dfec.dynamics.panels.speech_lane`) also shows the sound and the talk: the
voiced stretches of the sound track shaded over the whole panel, the voice score (0-1) as a strip
under the traces with its voiced level (``voice_active_score``, 0.5) dotted, and the final speaking runs (the talks the
caption states, fused with the voice) as a bar at the bottom, pauses as open boxes, both
labelled on the bar; a clip without sound says "no audio track" there.
"""
from __future__ import annotations

from pathlib import Path


from .panels import PANEL_OF as _PANEL_OF, SPEECH_KINDS, panels_for, speech_lane

_COLOURS = {"eyes": "#4c72b0", "mouth": "#dd8452", "brows": "#55a868", "forehead": "#2e7d4f", "head": "#8172b3", "gaze": "#937860",
            "cheeks": "#da8bc3", "nose": "#8c8c8c"}
_DPI = 110
_VOICE, _SPEAKING = "#2a9d8f", "#c44e52"
#: the speech panel's strips, in axes fractions: the speaking bar, then the voice score above it
_BAR = (0.03, 0.12)
_SCORE = (0.15, 0.27)


def _draw_speech(ax, lane) -> None:
    """The voice and the speaking runs of :func:`~dfec.dynamics.panels.speech_lane` on the speech
    panel ``ax`` (its traces already drawn): the y range grows downwards so that the two strips
    under the traces cover none of them. The talk's markers ("speaking", "pause", "again") are
    written on the bar instead of the panel's top."""
    lo, hi = ax.get_ylim()
    span = max(hi - lo, 1e-6)
    # the traces keep the top (1 - _SCORE[1]) of the panel, the strips the bottom
    ylim = (lo - span * _SCORE[1] / (1 - _SCORE[1]) - 0.02 * span, hi)
    xt = ax.get_xaxis_transform()
    for k, (s, e) in enumerate(lane.voiced):
        ax.axvspan(s, e, color=_VOICE, alpha=0.12, lw=0, zorder=0, label="voiced" if k == 0 else None)
    if lane.score is not None and len(lane.score):
        a, b = _SCORE
        ax.fill_between(lane.times, a, a + (b - a) * lane.score, step="mid", transform=xt, color=_VOICE,
                        alpha=0.55, lw=0, label=f"voice score (floor {lane.floor_db:.0f} dBFS)")
        ax.plot([0, 1], [a + (b - a) * lane.active] * 2, transform=ax.transAxes, color=_VOICE, ls=":", lw=0.8)
    mid = 0.5 * (_BAR[0] + _BAR[1])
    for k, ((s, e), again) in enumerate(zip(lane.runs, lane.resumed)):
        ax.axvspan(s, e, ymin=_BAR[0], ymax=_BAR[1], color=_SPEAKING, alpha=0.75, lw=0,
                   label="speaking (caption)" if k == 0 else None)
        ax.text(s + 0.03, mid, "again" if again else "speaking", transform=xt, fontsize=6, va="center", color="white")
    for s, e in lane.pauses:
        ax.axvspan(s, e, ymin=_BAR[0], ymax=_BAR[1], fill=False, ec=_SPEAKING, lw=0.8)
        ax.text(s + 0.03, mid, "pause", transform=xt, fontsize=6, va="center", color=_SPEAKING)
    if lane.note:
        ax.text(0.01, _SCORE[0], lane.note, transform=ax.transAxes, fontsize=7, color="0.35", style="italic",
                va="bottom")
    ax.set_ylim(*ylim)
    ax.set_yticks([v for v in ax.get_yticks() if lo - 1e-9 * span <= v <= hi])  # none beside the strips
    ax.set_ylim(*ylim)


def _place_labels(fig, labels: dict) -> None:
    """Keep the event labels (``labels``: axes -> its label texts, written downwards from the top)
    apart: a label that would run under its panel's legend starts just below it, and labels of
    events starting at (nearly) the same time are set side by side instead of on top of each
    other."""
    renderer = fig.canvas.get_renderer()
    for ax, texts in labels.items():
        leg = ax.get_legend()
        box = leg.get_window_extent(renderer) if leg is not None else None
        to_data = ax.transData.inverted()
        prev = None
        for t in sorted(texts, key=lambda t: t.get_position()[0]):
            tb = t.get_window_extent(renderer)
            if prev is not None and tb.x0 < prev.x1 + 1:  # run side by side
                anchor = ax.transData.transform((t.get_position()[0], 0))[0]
                t.set_x(float(to_data.transform((anchor + prev.x1 + 1 - tb.x0, 0))[0]))
                tb = t.get_window_extent(renderer)
            if box is not None and tb.x1 >= box.x0 and tb.x0 <= box.x1 and tb.y1 >= box.y0:
                t.set_y(float(ax.transAxes.inverted().transform((0, box.y0))[1]) - 0.02)
                tb = t.get_window_extent(renderer)
            prev = tb


def _hidden_and_changes(sig) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """The time spans (s) of ``sig``'s hidden-mouth frames and of its shot changes (a hard cut's two
    frames, a dissolve's span, each drawn at least one frame wide); empty without them."""
    if sig is None or not len(sig):
        return [], []
    from ..video.audio import mask_runs

    occ = getattr(sig, "mouth_occluded", None)
    hidden = mask_runs(occ, sig.times) if occ is not None and len(occ) == len(sig) else []
    step = 1.0 / max(sig.fps, 1e-6)
    changes = [(float(a), max(float(b), float(a) + step)) for a, b in getattr(sig, "shot_changes", [])]
    return hidden, changes


def plot_timeline(result, path, config=None) -> Path:
    """Render ``result`` (a :class:`~dfec.dynamics.captioner.CaptionResult`) to a PNG at ``path``."""
    fig = timeline_figure(result, config)
    import matplotlib.pyplot as plt

    out = Path(path)
    fig.savefig(out, dpi=_DPI)
    plt.close(fig)
    return out


def timeline_figure(result, config=None):
    """The timeline of :func:`plot_timeline` as a matplotlib figure (laid out, labels placed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .events import DynamicsConfig

    cfg = config or DynamicsConfig()
    sig = result.signals
    duration = result.tracking.duration or (float(sig.times[-1]) if sig is not None and len(sig) else 1.0)
    panels = panels_for(sig.values if sig is not None else None)
    lane = speech_lane(sig, result.timeline, cfg)
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, 2.1 * len(panels) + 0.1), sharex=True,
                             dpi=_DPI)
    hidden, changes = _hidden_and_changes(sig)
    labels = {}
    for ax, (region, title, series) in zip(axes, panels):
        ax.set_ylabel(title, fontsize=8)
        ax.grid(alpha=0.3)
        if sig is not None and len(sig):
            for name, label, as_dev in series:
                if name not in sig.values:
                    continue
                y = sig.deviation(name) if as_dev else sig[name]
                ax.plot(sig.times, y, lw=1.2, label=label)
            if region in ("mouth", "interior"):
                for k, (s, e) in enumerate(hidden):
                    ax.axvspan(s, e, facecolor="none", edgecolor="0.45", hatch="///", lw=0,
                               label="mouth hidden" if k == 0 else None)
            for k, (s, e) in enumerate(changes):
                ax.axvspan(s, e, color="0.25", alpha=0.35, lw=0, label="shot change" if k == 0 else None)
            if lane is not None and region == lane.panel:
                _draw_speech(ax, lane)
            ax.legend(fontsize=7, loc="upper right", ncol=3)
        for e in result.timeline:
            if region not in _PANEL_OF.get(e.region, (e.region,)):
                continue
            if lane is not None and e.kind in SPEECH_KINDS and lane.panel in _PANEL_OF.get(e.region, (e.region,)):
                continue  # on the speaking bar of the speech panel, not also in the region's other panels
            end = max(e.end, e.start + 1.0 / max(result.tracking.fps or 16.0, 1.0))
            ax.axvspan(e.start, end, color=_COLOURS.get(e.region, "grey"), alpha=0.18)
            labels.setdefault(ax, []).append(
                ax.text(e.start, 0.98, e.kind.replace("_", " "), transform=ax.get_xaxis_transform(), fontsize=6,
                        va="top", rotation=90, alpha=0.8))
        for b in cfg.segments:
            ax.axvline(b * duration, color="k", ls="--", lw=0.7, alpha=0.5)
    axes[-1].set_xlim(0, max(duration, 1e-3))
    axes[-1].set_xlabel("time (s)")
    name = Path(result.tracking.video).name if result.tracking.video else "video"
    title = f"{name}: facial dynamics of the main face" if sig is not None else f"{name}: no face found"
    fig.suptitle(title, fontsize=10)
    if sig is None:
        axes[0].text(0.5, 0.5, "no face found", transform=axes[0].transAxes, ha="center")
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    _place_labels(fig, labels)
    return fig
