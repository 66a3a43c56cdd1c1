"""Multi-GPU launcher: ``python -m dfec.train.launch --gpus 8 --zero 2 --config cfg.yaml``.

Writes an accelerate config whose ``deepspeed_config_file`` is the absolute path of the shipped
``zero2.json`` / ``zero3.json`` (or a DDP config with ``--zero 0``) and runs
``accelerate launch --config_file <it> -m dfec.cli train --config cfg.yaml [--set ...]``.
``--dry-run`` prints the command and the config instead of running them.
"""
from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

CONFIGS = Path(__file__).resolve().parent / "configs"


def accelerate_config(gpus: int, zero: int, machines: int = 1, machine_rank: int = 0,
                      main_address: str | None = None, main_port: int = 29500) -> dict:
    """The accelerate launch config for ``gpus`` processes per machine (ZeRO stage 2/3, or 0 = DDP)."""
    import yaml

    name = f"accelerate_zero{zero}.yaml" if zero else "accelerate_ddp.yaml"
    cfg = yaml.safe_load((CONFIGS / name).read_text())
    cfg["num_processes"] = int(gpus) * int(machines)
    cfg["num_machines"] = int(machines)
    cfg["machine_rank"] = int(machine_rank)
    if main_address:
        cfg["main_process_ip"] = main_address
        cfg["main_process_port"] = int(main_port)
    if zero:
        cfg["deepspeed_config"]["deepspeed_config_file"] = str(CONFIGS / f"zero{zero}.json")
    return cfg


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dfec.train.launch", description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True, help="the dfec training YAML")
    ap.add_argument("--gpus", type=int, default=8, help="GPUs per machine")
    ap.add_argument("--zero", type=int, choices=(0, 2, 3), default=2, help="DeepSpeed ZeRO stage (0 = plain DDP)")
    ap.add_argument("--machines", type=int, default=1)
    ap.add_argument("--machine-rank", type=int, default=0)
    ap.add_argument("--main-address")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="passed to dfec train")
    ap.add_argument("--dry-run", action="store_true", help="print the command and config, run nothing")
    args = ap.parse_args(argv)

    import yaml

    cfg = accelerate_config(args.gpus, args.zero, args.machines, args.machine_rank, args.main_address)
    fd, path = tempfile.mkstemp(prefix="dfec_accelerate_", suffix=".yaml")
    with os.fdopen(fd, "w") as fh:
        yaml.safe_dump(cfg, fh)
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", path, "-m", "dfec.cli", "train",
           "--config", str(Path(args.config).resolve())]
    for item in args.set:
        cmd += ["--set", item]
    if args.dry_run:
        print(shlex.join(cmd))
        print(Path(path).read_text())
        os.unlink(path)
        return 0
    try:
        return subprocess.call(cmd)
    finally:
        os.unlink(path)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
