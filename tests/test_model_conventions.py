"""VideoLLaMA2 conventions kept by FaceTrack-MM: frame padding colour, chat format, label masking."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from dfec.model.configuration_facetrack import IGNORE_INDEX, VIDEO_TOKEN_INDEX, tiny_config  # noqa: E402
from dfec.model.processor import CLIP_MEAN, CLIP_STD, FaceTrackProcessor, ProcessorConfig, pad_fill  # noqa: E402
from dfec.model.tiny import synthetic_video, tiny_tokenizer  # noqa: E402


@pytest.fixture(scope="module")
def proc():
    return FaceTrackProcessor(tiny_tokenizer(), ProcessorConfig.from_model_config(tiny_config()))


def test_frames_are_padded_with_videollama2s_truncated_clip_mean(proc, tmp_path):
    # VideoLLaMA2: expand2square(frame, tuple(int(x * 255) for x in image_mean)) -> (122, 116, 104)
    assert pad_fill(CLIP_MEAN) == (122, 116, 104)
    video = synthetic_video(tmp_path / "wide.mp4", n_frames=4, width=64, height=32)  # 16-px bands above and below
    vis = proc.visual_inputs(video)
    band = vis.pixel_values[0, :, 0, :]                       # [3, S]: the top row of the first frame
    want = (np.array([122, 116, 104]) / 255.0 - np.array(CLIP_MEAN)) / np.array(CLIP_STD)
    assert np.allclose(band, want[:, None].astype(np.float32), atol=1e-6)


def test_mistral_prompt_and_labels_follow_videollama2(proc):
    tok = proc.tokenizer
    instruction, answer = "describe the face .", "she smiles and then blinks ."
    assert proc.prompt_text(instruction) == "<s>[INST] <video>\n" + instruction + " [/INST]"
    ids, labels = proc.tokenize(instruction, answer)
    assert ids.count(VIDEO_TOKEN_INDEX) == 1 and ids[0] == tok.bos_token_id
    cut = len(proc.tokenize(instruction)[0])                  # the prompt ends with [/INST]
    assert tok.convert_ids_to_tokens(ids[cut - 1]) == "[/INST]"
    assert labels[:cut] == [IGNORE_INDEX] * cut               # nothing of the prompt is trained
    assert labels[cut:] == ids[cut:] and ids[-1] == tok.eos_token_id  # the answer and its EOS are
    assert tok.decode(ids[cut:], skip_special_tokens=True) == answer
    # an instruction that already holds <video> keeps exactly one slot
    ids2, _ = proc.tokenize("<video>\n" + instruction)
    assert ids2.count(VIDEO_TOKEN_INDEX) == 1


class _Payload:
    """Any class instance in a pickle: torch.load(weights_only=True) must refuse to rebuild it."""

    def __reduce__(self):
        return (print, ("this would run on load",))


def test_videollama2_projector_bin_with_code_is_refused_in_one_line(tmp_path):
    import torch

    from dfec.errors import DfecError
    from dfec.model.stc_connector import STCConnector, load_videollama2_projector

    d = tmp_path / "pretrain"
    d.mkdir()
    torch.save({"model.mm_projector.readout.0.weight": torch.zeros(2, 2), "extra": _Payload()}, d / "mm_projector.bin")
    with pytest.raises(DfecError, match="not a weights-only torch file") as exc:
        load_videollama2_projector(STCConnector(8, 16, 16, depth=1), d)
    assert "\n" not in str(exc.value) and "mm_projector.bin" in str(exc.value)
