"""The package layers (import-linter contract in pyproject.toml) and the one OpenCV distribution."""
from __future__ import annotations

import importlib.metadata as md
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(src: Path, cwd: Path) -> subprocess.CompletedProcess:
    if not LINT.exists():
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    env = {"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run([str(LINT), "--config", str(REPO / "pyproject.toml"), "--no-cache"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def test_layer_contract_is_kept():
    res = _lint(REPO / "src", REPO)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "1 kept, 0 broken" in res.stdout


@pytest.mark.parametrize("module, line, broken", [
    # the cycle this contract was written against: model loading reaching into training code
    ("model/inference.py", "from ..train import trainer as _t  # noqa", "dfec.model is not allowed to import dfec.train"),
    # the landmark stage reaching up into the captioner registry
    ("dynamics/plot.py", "from ..captioners import registry as _r  # noqa", "dfec.dynamics is not allowed to import dfec.captioners"),
    # the caption command reaching up into the report pages (dfec caption --html runs through dfec.report.caption)
    ("captioners/command.py", "from ..report import page as _p  # noqa", "dfec.captioners is not allowed to import dfec.report"),
    # the bench command reaching up into the report pages (dfec bench table --html runs through dfec.report.bench)
    ("bench/command.py", "from ..report import bench_html as _h  # noqa", "dfec.bench is not allowed to import dfec.report"),
    # two siblings on one layer
    ("train/config.py", "from ..data import build as _b  # noqa", "dfec.train is not allowed to import dfec.data"),
])
def test_an_upward_or_sideways_import_breaks_the_contract(tmp_path, module, line, broken):
    src = tmp_path / "src"
    shutil.copytree(REPO / "src" / "dfec", src / "dfec", ignore=shutil.ignore_patterns("__pycache__"))
    target = src / "dfec" / module
    text = target.read_text()
    anchor = "from __future__ import annotations\n"
    target.write_text(text.replace(anchor, anchor + "\n" + line + "\n", 1))
    res = _lint(src, tmp_path)
    assert res.returncode != 0
    assert broken in res.stdout, res.stdout[-3000:]


def test_dynamics_imports_neither_model_nor_train():
    """The issue's concrete case, without import-linter: no file under dynamics/ names them."""
    pat = re.compile(r"^\s*(from\s+(\.\.|dfec\.)(model|train|captioners)\b|import\s+dfec\.(model|train|captioners)\b)", re.M)
    offenders = [p.name for p in (REPO / "src" / "dfec" / "dynamics").glob("*.py") if pat.search(p.read_text())]
    assert offenders == []


# --------------------------------------------------------------------------------------------
# OpenCV: exactly one distribution
# --------------------------------------------------------------------------------------------
OPENCV = re.compile(r"^opencv(-contrib)?-python(-headless)?$")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_closure(roots: list[str], extras: dict[str, set[str]]) -> set[str]:
    """Names of the distributions ``roots`` pull in, read from the installed distributions' metadata."""
    from packaging.requirements import Requirement

    seen: set[str] = set()
    todo = [(r, extras.get(r, set())) for r in roots]
    while todo:
        name, want = todo.pop()
        key = _norm(name)
        if key in seen:
            continue
        seen.add(key)
        try:
            reqs = md.distribution(name).requires or []
        except md.PackageNotFoundError:
            continue
        for text in reqs:
            req = Requirement(text)
            envs = [{"extra": e} for e in (want or {""})]
            if req.marker is None or any(req.marker.evaluate(e) for e in envs):
                todo.append((req.name, set(req.extras)))
    return seen


def _project_requirements() -> list[str]:
    import tomllib

    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]


def test_dependencies_pull_exactly_one_opencv():
    """dfec's own requirements (pyproject.toml) and everything they require (installed metadata)."""
    pytest.importorskip("packaging")
    from packaging.requirements import Requirement

    direct = [Requirement(r) for r in _project_requirements()]
    closure = _requirement_closure([r.name for r in direct], {r.name: set(r.extras) for r in direct})
    found = sorted(n for n in closure if OPENCV.match(n))
    assert len(found) == 1, f"OpenCV distributions required: {found}"


def test_installed_environment_holds_one_opencv():
    """After `pip install` of this tree there is one OpenCV distribution (checked where the
    environment was installed from this pyproject; an environment built from an older dfec,
    which still lists two, is skipped with a note to reinstall)."""
    try:
        installed_reqs = md.distribution("dfec").requires or []
    except md.PackageNotFoundError:
        pytest.skip("dfec is not pip-installed in this environment")
    plain = sorted(r for r in installed_reqs if "extra ==" not in r)
    from packaging.requirements import Requirement

    if sorted(str(Requirement(r)) for r in plain) != sorted(str(Requirement(r)) for r in _project_requirements()):
        pytest.skip("this environment was installed from another dfec version; reinstall (pip install -e .) to check")
    names = sorted({_norm(d.metadata["Name"]) for d in md.distributions() if OPENCV.match(_norm(d.metadata["Name"] or ""))})
    assert len(names) == 1, f"installed OpenCV distributions: {names}"
