"""Operator configuration: pydantic-settings models, TOML file, ORION_ env overrides.

Precedence: environment (ORION_SECTION__KEY) over the TOML file over defaults.
The wallet seed is never part of these models: it comes from ORION_WALLET_SEED or
the file named by ORION_WALLET_SEED_FILE, as a SecretStr (see `load_wallet_seed`),
so dumping the settings (config_history, the review diff) can never leak it.
"""

from __future__ import annotations

import math
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

DEFAULT_CONFIG = Path("config/orion.toml")
RLUSD_CURRENCY = "524C555344000000000000000000000000000000"
RLUSD_MAINNET_ISSUER = "rMxCKbEDwqr76QuheSUMdEGf4B9xJ8m5De"

# Retired keys: accepted with a warning naming what does the job now; they gate nothing.
RETIRED_KEYS: dict[str, str] = {
    "max_inventory_usd": (
        "max_inventory_usd is retired and gates nothing; "
        "risk.max_xrp_exposure (and risk.max_rlusd_exposure) is the limit that does the job"
    ),
}
SEED_KEYS = {"wallet_seed", "seed_secret", "secret", "wallet_secret"}


class ConfigError(Exception):
    """A config file that cannot be used. `problems` holds one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_numbers(cls, v: Any, info: ValidationInfo) -> Any:
        """TOML `true` must not pass as 1.0 for a numeric key."""
        field = cls.model_fields.get(info.field_name or "")
        if isinstance(v, bool) and field is not None and field.annotation in (int, float):
            raise ValueError("must be a number, not a boolean")
        return v


class StrategySettings(_Section):
    anchor_mode: Literal["mid", "amm", "amm_or_mid", "capped_amm"] = "capped_amm"
    anchor_max_divergence_bps: float = Field(10.0, ge=0, le=1000)
    half_spread_bps: float = Field(12.0, gt=0, le=5000)
    base_size_rlusd: float = Field(15.0, gt=0)
    skew_bps_per_drift_pct: float = Field(0.4, ge=0, le=100)
    size_skew_per_drift_pct: float = Field(0.02, ge=0, le=1)
    max_size_fraction: float = Field(0.25, gt=0, le=1)
    target_xrp_share_pct: float = Field(50.0, ge=0, le=100)
    momentum_lookback_ticks: int = Field(8, ge=1, le=10_000)
    momentum_threshold_bps: float = Field(30.0, gt=0)
    refresh_tolerance_bps: float = Field(3.0, ge=0)
    max_order_age_s: float = Field(120.0, gt=0)


class RiskSettings(_Section):
    max_xrp_exposure: float = Field(150.0, gt=0)
    max_rlusd_exposure: float = Field(120.0, gt=0)
    stale_after_s: float = Field(15.0, gt=0)


class ExecutionSettings(_Section):
    order_ttl_s: int = Field(60, ge=5, le=86_400)
    paper_fee_bps: float = Field(0.0, ge=0, le=100)


class InventorySettings(_Section):
    starting_xrp: float = Field(50.0, ge=0)
    starting_rlusd: float = Field(80.0, ge=0)


class MarketSettings(_Section):
    mode: Literal["sim", "paper", "live"] = "sim"
    node: str = "wss://xrplcluster.com"
    rlusd_issuer: str = RLUSD_MAINNET_ISSUER
    rlusd_currency: str = RLUSD_CURRENCY

    @field_validator("rlusd_currency")
    @classmethod
    def _currency(cls, v: str) -> str:
        if len(v) != 40 or any(c not in "0123456789ABCDEF" for c in v.upper()):
            raise ValueError("must be a 40-hex-digit currency code")
        return v.upper()

    @field_validator("rlusd_issuer")
    @classmethod
    def _issuer(cls, v: str) -> str:
        if not v.startswith("r") or not 25 <= len(v) <= 35:
            raise ValueError("must be a classic XRPL address (r...)")
        return v

    @field_validator("node")
    @classmethod
    def _node(cls, v: str) -> str:
        if not v.startswith(("ws://", "wss://")):
            raise ValueError("must be a ws:// or wss:// URL")
        return v


class SimSettings(_Section):
    seed: int = 7
    start_price: float = Field(2.20, gt=0)
    ledger_interval_s: float = Field(3.8, gt=0)
    volatility_bps: float = Field(6.0, ge=0)
    amm_lag: float = Field(0.12, gt=0, le=1)
    taker_rate: float = Field(0.9, ge=0)


class OrionSettings(BaseSettings):
    """The whole operator config. Frozen: a reload builds a new object."""

    model_config = SettingsConfigDict(
        env_prefix="ORION_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    strategy: StrategySettings = StrategySettings()
    risk: RiskSettings = RiskSettings()
    execution: ExecutionSettings = ExecutionSettings()
    inventory: InventorySettings = InventorySettings()
    market: MarketSettings = MarketSettings()
    sim: SimSettings = SimSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment wins over the file (which arrives as init kwargs).
        return (env_settings, init_settings)


class LoadedConfig(BaseModel):
    """Settings plus what the loader noticed (retired keys) and where it came from."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    settings: OrionSettings
    warnings: tuple[str, ...] = ()
    retired_keys: tuple[str, ...] = ()
    path: str = ""
    text: str = ""


def _format_loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


def _validation_problems(exc: ValidationError, data: dict[str, Any]) -> list[str]:
    problems = []
    for err in exc.errors():
        key = _format_loc(err["loc"])
        value = err.get("input")
        if err["type"] == "extra_forbidden":
            problems.append(f"{key}: unknown key (value {value!r})")
            continue
        rendered = "missing" if err["type"] == "missing" else repr(value)
        problems.append(f"{key} = {rendered}: {err['msg']}")
    return problems


def _pop_retired(data: dict[str, Any]) -> tuple[list[str], list[str]]:
    warnings: list[str] = []
    found: list[str] = []
    for container_name, container in [("", data)] + [
        (k, v) for k, v in data.items() if isinstance(v, dict)
    ]:
        for key in list(container):
            if key in RETIRED_KEYS:
                container.pop(key)
                full = f"{container_name}.{key}" if container_name else key
                found.append(full)
                warnings.append(f"{full}: {RETIRED_KEYS[key]}")
    return warnings, found


def _find_seed_keys(data: dict[str, Any], prefix: str = "") -> list[str]:
    hits = []
    for key, value in data.items():
        full = f"{prefix}{key}"
        if key.lower() in SEED_KEYS:
            hits.append(full)
        elif isinstance(value, dict):
            hits.extend(_find_seed_keys(value, f"{full}."))
    return hits


def _check_finite(data: dict[str, Any], prefix: str = "") -> list[str]:
    problems = []
    for key, value in data.items():
        full = f"{prefix}{key}"
        if isinstance(value, float) and not math.isfinite(value):
            problems.append(f"{full} = {value!r}: must be a finite number")
        elif isinstance(value, dict):
            problems.extend(_check_finite(value, f"{full}."))
    return problems


def parse_config_text(text: str, path: str = "<string>") -> LoadedConfig:
    """Parse and validate TOML text in full. Raises ConfigError, never anything else."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: TOML syntax error: {exc}"]) from None
    seed_keys = _find_seed_keys(data)
    if seed_keys:
        raise ConfigError(
            [
                f"{k}: a wallet seed must not be in the config file; "
                "set ORION_WALLET_SEED or ORION_WALLET_SEED_FILE"
                for k in seed_keys
            ]
        )
    warnings, retired = _pop_retired(data)
    problems = _check_finite(data)
    if problems:
        raise ConfigError(problems)
    try:
        settings = OrionSettings(**data)
    except ValidationError as exc:
        raise ConfigError(_validation_problems(exc, data)) from None
    return LoadedConfig(
        settings=settings,
        warnings=tuple(warnings),
        retired_keys=tuple(retired),
        path=path,
        text=text,
    )


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """--config wins, then ORION_CONFIG, then config/orion.toml."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("ORION_CONFIG")
    return Path(env) if env else DEFAULT_CONFIG


def load_config(path: str | os.PathLike[str] | None = None) -> LoadedConfig:
    """Read and validate a config file. Raises ConfigError with one line per problem."""
    p = config_path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{p}: config file not found"]) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{p}: cannot read config file: {exc.__class__.__name__}"]) from None
    return parse_config_text(text, str(p))


def load_wallet_seed(environ: dict[str, str] | None = None) -> SecretStr | None:
    """The wallet seed from ORION_WALLET_SEED or the file ORION_WALLET_SEED_FILE names."""
    env = os.environ if environ is None else environ
    raw = env.get("ORION_WALLET_SEED")
    if raw:
        return SecretStr(raw.strip())
    file = env.get("ORION_WALLET_SEED_FILE")
    if file:
        try:
            content = Path(file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                [f"ORION_WALLET_SEED_FILE: cannot read the seed file ({exc.__class__.__name__})"]
            ) from None
        return SecretStr(content) if content else None
    return None


def settings_as_flat_dict(settings: OrionSettings) -> dict[str, Any]:
    """section.key -> value, for diffs and config_history (contains no secret)."""
    out: dict[str, Any] = {}
    for section, model in settings.model_dump().items():
        for key, value in model.items():
            out[f"{section}.{key}"] = value
    return out
