"""Typed, torch-free configuration of a SymAE model and of its training.

``ModelConfig`` fixes the network (latent sizes, number of coherent categories, ...)
for one :class:`~symae.contract.DataContract`, which alone says how long a trace is
(``ModelConfig.nt`` is the contract's ``nt``). ``TrainConfig`` fixes the optimisation
(loss weights, batching, the multi-stage schedule). Both are frozen dataclasses saved in
``model.json`` (the contract once, under ``"contract"``) so a model can be rebuilt from
its directory, and so the serving side can read them without importing torch. Shipped
configs live in ``symae/configs/<name>.json``; a config file holds ``{"model": {...},
"train": {...}}``, where ``"model"`` may give ``nt`` as a shorthand for the default
contract with that many samples.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from symae.contract import DEFAULT_CONTRACT, DataContract
from symae.data.reference import PACKAGE_DIR

CONFIGS_DIR = PACKAGE_DIR / "configs"
# network families: the seed's SymVAE, and the physics-informed SymAE (docs/physics-symae.md)
ARCHITECTURES = ("symvae", "symae-physics")


def _check_keys(cls: type, data: dict[str, Any], where: str, extra: tuple[str, ...] = ()) -> None:
    known = {f.name for f in fields(cls)} | set(extra)
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}; expected some of {sorted(known)}")


@dataclass(frozen=True, init=False)
class ModelConfig:
    """Architecture of the SymVAE (method doc, "Network") for one data contract.

    ``contract`` says what a trace is (``nt`` samples at its sampling rate); ``nt`` is
    read from it, never stored beside it. ``ModelConfig(nt=96)`` is a shorthand for the
    default contract with 96 samples; giving both ``contract`` and a different ``nt`` is
    an error. ``k`` is the number of coherent categories: 1 is the plain model, ``k > 1``
    turns on a Gumbel-softmax mixture whose softmax temperature is ``temperature``.

    ``architecture`` picks the network: ``"symvae"`` (the default; older model.json files
    without the field are SymVAEs) or ``"symae-physics"``, whose coherent code decodes to
    a positive STF of ``stf_basis`` cubic B-splines over [0, ``stf_support_s``] s that is
    convolved with each trace's known Green's function (``symae.model.physics``).
    ``stf_basis`` and ``stf_support_s`` are ignored by the SymVAE.
    """

    contract: DataContract
    p: int  # coherent code size
    q: int  # nuisance code size
    k: int  # coherent categories
    temperature: float  # Gumbel-softmax temperature (k > 1 only)
    leaky_slope: float
    decoder_logvar_init: float
    architecture: str
    stf_basis: int  # symae-physics: B-spline coefficients of the STF
    stf_support_s: float  # symae-physics: the STF lives on [0, stf_support_s] s

    def __init__(
        self,
        contract: DataContract | None = None,
        *,
        nt: int | None = None,
        p: int = 30,
        q: int = 30,
        k: int = 1,
        temperature: float = 0.25,
        leaky_slope: float = 0.1,
        decoder_logvar_init: float = 1.0,
        architecture: str = "symvae",
        stf_basis: int = 40,
        stf_support_s: float = 80.0,
    ) -> None:
        if contract is None:
            contract = DEFAULT_CONTRACT if nt is None else replace(DEFAULT_CONTRACT, nt=int(nt))
        elif nt is not None and int(nt) != contract.nt:
            raise ValueError(f"nt={nt} differs from the data contract's nt={contract.nt}")
        values = {
            "contract": contract,
            "p": p,
            "q": q,
            "k": k,
            "temperature": temperature,
            "leaky_slope": leaky_slope,
            "decoder_logvar_init": decoder_logvar_init,
            "architecture": architecture,
            "stf_basis": stf_basis,
            "stf_support_s": stf_support_s,
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)
        self.__post_init__()

    def __post_init__(self) -> None:
        if self.nt < 16 or self.nt % 16:
            raise ValueError(f"nt must be a multiple of 16 (two average pools of 4), got {self.nt}")
        for name in ("p", "q", "k"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if self.architecture not in ARCHITECTURES:
            raise ValueError(
                f"architecture must be one of {ARCHITECTURES}, got {self.architecture!r}"
            )
        if self.architecture == "symae-physics":
            if self.k != 1:
                raise ValueError(
                    f"symae-physics has one coherent category (k = 1), got k = {self.k}"
                )
            if self.stf_basis < 4:
                raise ValueError(f"stf_basis must be >= 4, got {self.stf_basis}")
            if not 0 < self.stf_support_s < self.nt * self.contract.dt:
                raise ValueError(
                    f"stf_support_s must be in (0, {self.nt * self.contract.dt}) s, got {self.stf_support_s}"
                )

    @property
    def nt(self) -> int:
        """Samples per trace: the data contract's ``nt``."""
        return self.contract.nt

    @property
    def summary(self) -> str:
        """Short parameter summary used in version strings, e.g. ``nt192-p30-q30-k1``
        (``physics-nt192-p16-q16-b40`` for a symae-physics network)."""
        if self.architecture == "symae-physics":
            return f"physics-nt{self.nt}-p{self.p}-q{self.q}-b{self.stf_basis}"
        return f"nt{self.nt}-p{self.p}-q{self.q}-k{self.k}"

    def to_dict(self, with_contract: bool = True) -> dict[str, Any]:
        """Every field; ``with_contract=False`` leaves the contract out (model.json keeps
        it once, at its top level)."""
        data = asdict(self)
        if not with_contract:
            del data["contract"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], contract: DataContract | None = None) -> ModelConfig:
        """Build from a dict; its contract is ``data["contract"]``, else ``contract``, else
        the default one (with ``data["nt"]`` samples when given). ValueError when they
        disagree."""
        _check_keys(cls, data, "model config", extra=("nt",))
        data = dict(data)
        if "contract" in data:
            own = DataContract.from_dict(data.pop("contract"))
            if contract is not None and own != contract:
                raise ValueError(f"model config contract {own} differs from {contract}")
            contract = own
        return cls(contract, **data)


@dataclass(frozen=True)
class Stage:
    """One training stage: a fresh Adam optimiser run for ``epochs`` from ``lr``."""

    epochs: int
    lr: float

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"stage epochs must be >= 1, got {self.epochs}")
        if self.lr <= 0:
            raise ValueError(f"stage lr must be > 0, got {self.lr}")


def _reference_stages() -> tuple[Stage, ...]:
    return (Stage(50, 1e-3), Stage(50, 1e-4), Stage(100, 1e-5))


@dataclass(frozen=True)
class TrainConfig:
    """Loss weights, batching and schedule (method doc, "Loss and training")."""

    beta_n: float = 1.0  # weight of the nuisance KL
    beta_c: float = 1.0  # weight of the coherent KL
    gamma: float = 100.0  # weight of the shift norm ||s||_2
    ntau: int = 20  # traces drawn (with replacement) per group sample
    batch_groups: int = 32  # group samples per batch (over all processes)
    steps_per_epoch: int = 100
    lr_decay: float = 0.99  # learning-rate factor per epoch
    stages: tuple[Stage, ...] = field(default_factory=_reference_stages)
    min_traces: int = 20  # groups with fewer traces are not used
    test_fraction: float = 0.1  # traces of each group held out for the test loss
    test_batches: int = 4  # batches drawn from the held-out traces per epoch
    seed: int = 0
    max_cached_traces: int = 2_000_000  # group cache bound when streaming from HDF5
    # symae-physics only: weight of the supervised STF shape term on synthetic training
    # events (symae.model.losses.stf_shape_misfit), per trace sample of a group
    stf_weight: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "stages", tuple(s if isinstance(s, Stage) else Stage(**s) for s in self.stages)
        )
        if not self.stages:
            raise ValueError("at least one training stage is needed")
        for name in ("ntau", "batch_groups", "steps_per_epoch", "min_traces", "test_batches"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must be in (0, 1), got {self.test_fraction}")
        if not 0.0 < self.lr_decay <= 1.0:
            raise ValueError(f"lr_decay must be in (0, 1], got {self.lr_decay}")
        if self.stf_weight < 0.0:
            raise ValueError(f"stf_weight must be >= 0, got {self.stf_weight}")

    @property
    def total_epochs(self) -> int:
        return sum(s.epochs for s in self.stages)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["stages"] = [asdict(s) for s in self.stages]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        _check_keys(cls, data, "train config")
        data = dict(data)
        if "stages" in data:
            data["stages"] = tuple(Stage(**s) for s in data["stages"])
        return cls(**data)


def shipped_configs() -> list[str]:
    """Names of the configs shipped in ``symae/configs``."""
    return sorted(p.stem for p in CONFIGS_DIR.glob("*.json"))


def load_config(name_or_path: str | Path) -> tuple[ModelConfig, TrainConfig]:
    """Read a shipped config by name (``tiny``) or a JSON file by path."""
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = CONFIGS_DIR / f"{name_or_path}.json"
        if not path.is_file():
            raise ValueError(
                f"unknown config {str(name_or_path)!r}; shipped configs: {shipped_configs()}"
            )
    if not path.is_file():
        raise ValueError(f"config file not found: {path}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from exc
    unknown = sorted(set(data) - {"model", "train"})
    if unknown:
        raise ValueError(f"{path}: unknown sections {unknown}; expected 'model' and 'train'")
    return ModelConfig.from_dict(data.get("model", {})), TrainConfig.from_dict(
        data.get("train", {})
    )
