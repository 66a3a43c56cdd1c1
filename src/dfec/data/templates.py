"""The 20 instruction templates paired with FDA videos for instruction tuning.

Paper (instruction data): each video-caption pair is turned into a conversation whose human
turn is one of 20 instructions asking for a description of the facial dynamics, chosen at random.
These 20 are written for this toolkit (the paper does not list its own); all ask for the same
thing (appearance first, then the changes of the main character's face in time order, without
guessing emotions), in different words, so that the model does not overfit one phrasing.

:func:`choose_template` picks one per video id with a fixed seed: the choice depends only on
``(seed, id)``, so it is the same across runs, machines and input orders.
"""
from __future__ import annotations

import random

INSTRUCTIONS: tuple[str, ...] = (
    "Describe how the main character's facial expression changes over the course of this video.",
    "Watch the video and describe the main person's appearance and the changes in their face from beginning to end.",
    "What does the main character's face do in this video? Describe the changes in time order.",
    "Give a detailed, time-ordered description of the facial movements of the person in the video.",
    "Describe the appearance of the main character, then explain how their eyes, eyebrows, mouth and head move through the video.",
    "Please caption the dynamic facial expression of the central person in this clip.",
    "Explain, step by step, how the person's facial expression evolves in this video.",
    "Describe only what can be seen: the main character's looks and every visible change in their face as the video goes on.",
    "Write a caption that tracks the facial changes of the main character from the start of the video to the end.",
    "How does the main person's face change during this video? Mention the eyes, brows, mouth and head movements in order.",
    "Provide a fine-grained description of the facial dynamics of the main character in this video.",
    "Focus on the most prominent face in the video and describe its expression changes in chronological order.",
    "Describe the main character briefly and then narrate the changes of their facial expression throughout the clip.",
    "Observe the main character's face carefully. What changes happen at the beginning, in the middle and towards the end?",
    "Summarize the visible facial actions of the person in this video, keeping the order in which they happen.",
    "Describe the facial expression of the main character and how it develops over time, without guessing their feelings.",
    "List the changes in the main person's facial expression as the video progresses, from first to last.",
    "Give a detailed account of the main character's appearance and the movements of their facial features in this video.",
    "In this video, how do the eyes, eyebrows, mouth and head pose of the main character change? Describe them in order.",
    "Describe the dynamic facial expression of the main character in the video in detail.",
)

assert len(INSTRUCTIONS) == 20 and len(set(INSTRUCTIONS)) == 20

#: the token VideoLLaMA2's conversation format puts before the instruction
VIDEO_TOKEN = "<video>"


def choose_template(record_id: str, seed: int = 0, templates: tuple[str, ...] = INSTRUCTIONS) -> str:
    """The instruction for ``record_id``: a seeded random choice that depends only on (seed, id)."""
    rng = random.Random(f"dfec-template:{seed}:{record_id}")  # str seeds hash with SHA-512: stable
    return templates[rng.randrange(len(templates))]
