"""LoRA instruction tuning of FaceTrack-MM (``dfec train``); see :mod:`dfec.train.trainer` (the loop), :mod:`~dfec.train.config`,
:mod:`~dfec.train.lora` and :mod:`~dfec.train.samples`.

Shipped launch configs live in ``dfec/train/configs/``: ``lora_default.yaml`` (the paper's recipe),
``zero2.json`` / ``zero3.json`` (DeepSpeed) and ``accelerate_{ddp,zero2,zero3}.yaml``;
``python -m dfec.train.launch --gpus N --zero {0,2,3} --config cfg.yaml`` runs them.
"""
