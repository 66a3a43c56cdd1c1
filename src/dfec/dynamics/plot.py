"""Timeline plot: the per-frame signals of the main track with the detected events marked.

Panels share the video's time axis: eyes (EAR of both eyes), mouth (inner-lip gap, mouth width
and lip-corner lift as deviations from the neutral frame), brows (brow height and inner-brow
distance, relative deviations) and head pose (yaw, pitch, roll in degrees). Tracks with a mesh
add: lids (lid aperture / iris diameter, iris darkness), gaze (eye-in-head angles), mouth
interior (3-D lip gap, teeth area) and lower face (lip thickness, chin, cheeks, nose, relative
deviations). Events are shaded in the panel of their face region and labelled with their kind;
dashed lines mark the caption phases.
"""
from __future__ import annotations

from pathlib import Path


from .panels import PANEL_OF as _PANEL_OF, panels_for

_COLOURS = {"eyes": "#4c72b0", "mouth": "#dd8452", "brows": "#55a868", "head": "#8172b3", "gaze": "#937860",
            "cheeks": "#da8bc3", "nose": "#8c8c8c"}


def plot_timeline(result, path, config=None) -> Path:
    """Render ``result`` (a :class:`~dfec.dynamics.captioner.CaptionResult`) to a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .events import DynamicsConfig

    cfg = config or DynamicsConfig()
    sig = result.signals
    duration = result.tracking.duration or (float(sig.times[-1]) if sig is not None and len(sig) else 1.0)
    panels = panels_for(sig.values if sig is not None else None)
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, 2.1 * len(panels) + 0.1), sharex=True)
    for ax, (region, title, series) in zip(axes, panels):
        ax.set_ylabel(title, fontsize=8)
        ax.grid(alpha=0.3)
        if sig is not None and len(sig):
            for name, label, as_dev in series:
                if name not in sig.values:
                    continue
                y = sig.deviation(name) if as_dev else sig[name]
                ax.plot(sig.times, y, lw=1.2, label=label)
            ax.legend(fontsize=7, loc="upper right", ncol=3)
        for e in result.timeline:
            if region not in _PANEL_OF.get(e.region, (e.region,)):
                continue
            end = max(e.end, e.start + 1.0 / max(result.tracking.fps or 16.0, 1.0))
            ax.axvspan(e.start, end, color=_COLOURS.get(e.region, "grey"), alpha=0.18)
            ax.text(e.start, 0.98, e.kind.replace("_", " "), transform=ax.get_xaxis_transform(), fontsize=6,
                    va="top", rotation=90, alpha=0.8)
        for b in cfg.segments:
            ax.axvline(b * duration, color="k", ls="--", lw=0.7, alpha=0.5)
    axes[-1].set_xlim(0, max(duration, 1e-3))
    axes[-1].set_xlabel("time (s)")
    name = Path(result.tracking.video).name if result.tracking.video else "video"
    title = f"{name}: facial dynamics of the main face" if sig is not None else f"{name}: no face found"
    fig.suptitle(title, fontsize=10)
    if sig is None:
        axes[0].text(0.5, 0.5, "no face found", transform=axes[0].transAxes, ha="center")
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
