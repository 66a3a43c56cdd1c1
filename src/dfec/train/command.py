"""``dfec train --config cfg.yaml``: LoRA instruction tuning of FaceTrack-MM.

One device: ``dfec train --config cfg.yaml``. Several GPUs (DeepSpeed ZeRO-2; ``--zero 3`` or
``--zero 0`` for plain DDP)::

    python -m dfec.train.launch --gpus 8 --zero 2 --config cfg.yaml

which runs ``accelerate launch --config_file <accelerate_zero2.yaml with an absolute zero2.json>
-m dfec.cli train --config cfg.yaml`` (the shipped files are in ``dfec/train/configs/``).

``dfec train --merge OUTPUT_DIR --out MERGED_DIR`` folds the LoRA adapter into the base weights
(a full FaceTrack-MM checkpoint that ``load_captioner`` reads without peft).

``--set key=value`` overrides a config setting (YAML syntax for the value), e.g. ``--set max_steps=10``.
Light imports only at module level: torch and transformers load inside :func:`run`.
"""
from __future__ import annotations

import argparse
import json
import sys

from ..errors import DfecError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="training YAML (see dfec/train/configs/lora_default.yaml)")
    parser.add_argument("--merge", metavar="ADAPTER_DIR",
                        help="instead of training: fold a trained adapter into its base and save a full checkpoint")
    parser.add_argument("--out", metavar="DIR", help="output folder for --merge")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override one setting of the config (repeatable)")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from ..userfiles import JsonProblem, check_output_dir, parse_yaml
    from .trainer import TrainConfig, train

    if args.merge:
        from .trainer import merge_adapter

        if not args.out:
            raise DfecError("--merge needs --out DIR")
        check_output_dir(args.out)
        out = merge_adapter(args.merge, args.out)
        print(f"merged checkpoint written to {out}", file=sys.stderr)
        return 0
    if not args.config:
        raise DfecError("give --config cfg.yaml (or --merge ADAPTER_DIR --out DIR)")
    cfg = TrainConfig.from_yaml(args.config)
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    for item in args.set:
        if "=" not in item:
            raise DfecError(f"--set expects KEY=VALUE, got '{item}'")
        key, value = item.split("=", 1)
        if key not in known:
            raise DfecError(f"unknown setting '{key}' in --set")
        try:
            setattr(cfg, key, parse_yaml(value))
        except JsonProblem as exc:
            raise DfecError(f"--set {key}: {exc}") from None
    cfg.validate("--set" if args.set else args.config)
    if args.print_config:
        print(json.dumps(dataclasses.asdict(cfg), indent=2))
        return 0
    if not cfg.data:
        raise DfecError("the config sets no `data` file", args.config)
    if cfg.output_dir:
        check_output_dir(cfg.output_dir, "output_dir")
    result = train(cfg, progress=not args.quiet)
    print(f"trained {result['global_step']} steps, final loss {result['final_loss']:.4f}; "
          f"adapter + projectors in {result['output_dir']}", file=sys.stderr)
    return 0
