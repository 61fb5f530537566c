"""Science programs and the trigger-criteria gate.

A science program is described in YAML (see ``tooflow/programs.yaml`` for the
shipped examples)::

    programs:
      - name: GW kilonova search
        kinds: [GW]
        notice_types: [PRELIMINARY, INITIAL, UPDATE]
        accept_mock: true
        criteria: >
          group == "CBC" and significant and (HasNS > 0.5 or p_BNS + p_NSBH > 0.5)
          and area_90 < 1000 and distance_mean < 300

``criteria`` is a readable expression over the event's fields (the parsed
notice's properties plus the localization numbers ``area_50``, ``area_90``,
``distance_mean``, ``distance_std``, ``ra``, ``dec``, ``error_radius`` and
``kind``, ``source``, ``notice_type``, ``event_id``, ``is_mock``). It is evaluated
with :mod:`simpleeval`, never :func:`eval`. Each top-level ``and`` clause is
evaluated on its own so that a refusal names the clause that failed.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    ValidationError,
    field_validator,
)
from simpleeval import EvalWithCompoundTypes, InvalidExpression, NameNotDefined

__all__ = ["Program", "ProgramStrategy", "TelescopeStrategy", "Decision", "load_programs",
           "evaluate", "gate"]

#: Counterpart models a program may name (:data:`tooflow.counterparts.MODELS`).
COUNTERPART_MODELS = ("kilonova", "afterglow")

_Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class _Typed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TelescopeStrategy(_Typed):
    """``strategy.telescopes.TELESCOPE``: the program's overrides of one telescope's
    strategy (:class:`tooflow.planning.strategy.Strategy`; a key left out keeps its default)."""

    filters: Annotated[list[str], Field(min_length=1)] | None = None
    exposure_time: dict[str, PositiveFloat] | None = None
    exposure_options: Annotated[list[PositiveFloat], Field(min_length=1)] | None = None
    min_gap: NonNegativeFloat | None = None
    max_gap: PositiveFloat | None = None
    secondary_grid: bool | None = None
    max_fields: NonNegativeInt | None = None
    block_minutes: PositiveFloat | None = None
    min_probability: _Fraction | None = None
    min_marginal: _Fraction | None = None
    mode: Literal["tiling", "galaxies", "pointed"] | None = None
    unavailable: list[tuple[Any, Any]] | None = None


class ProgramStrategy(_Typed):
    """A program's ``strategy`` section (docs/configuration.md, *Planning strategy*)."""

    window_hours: PositiveFloat = 24.0
    time_limit: PositiveFloat = 20.0
    lookahead_days: NonNegativeFloat = 14.0
    objective: Literal["coverage", "detection"] = "coverage"
    counterpart: str | dict[str, Any] | None = None
    telescopes: dict[str, TelescopeStrategy] = {}

    @field_validator("counterpart")
    @classmethod
    def _known_model(cls, value: str | dict[str, Any] | None) -> str | dict[str, Any] | None:
        name = value.get("model", "kilonova") if isinstance(value, dict) else value
        if name is not None and name not in COUNTERPART_MODELS:
            raise ValueError(f"model {name!r}: allowed: {', '.join(COUNTERPART_MODELS)}")
        return value

    def as_mapping(self) -> dict[str, Any]:
        """The section as the plain mapping the planning stages read (keys set only)."""
        return self.model_dump(exclude_none=True, exclude_unset=True)

_FUNCTIONS = {"abs": abs, "min": min, "max": max, "len": len, "any": any, "all": all}


@dataclass(frozen=True)
class Program:
    """A science program: which notices it wants and what it does with them."""

    name: str
    criteria: str = "True"
    kinds: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    notice_types: tuple[str, ...] = ()
    accept_mock: bool = False
    mock_phone: bool = False
    mock_real_queues: bool = False
    urgent: bool = False
    description: str = ""
    telescopes: tuple[str, ...] = ()
    strategy: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    approval: str = "none"  #: ``required``: each plan waits for a person's decision
    approval_timeout: float = 1800.0  #: seconds a plan waits before ``approval_default``
    approval_default: str = "reject"  #: what a plan no one decided on becomes


@dataclass(frozen=True)
class Decision:
    """The gate's verdict for one program."""

    program: str
    triggered: bool
    reason: str


def _program_from_dict(data: dict[str, Any], origin: str) -> Program:
    if not isinstance(data, dict) or "name" not in data:
        raise ValueError(f"{origin}: every program needs a 'name'")
    known = {"name", "criteria", "kinds", "sources", "notice_types", "accept_mock",
             "mock_phone", "mock_real_queues", "urgent", "description", "telescopes", "strategy",
             "approval", "approval_timeout", "approval_default"}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"{origin}: program {data['name']!r} has unknown keys {sorted(unknown)}")
    criteria = " ".join(str(data.get("criteria", "True")).split())
    try:
        ast.parse(criteria, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"{origin}: program {data['name']!r}: bad criteria: {exc.msg}") from exc
    return Program(
        name=str(data["name"]),
        criteria=criteria,
        kinds=tuple(data.get("kinds") or ()),
        sources=tuple(data.get("sources") or ()),
        notice_types=tuple(t.upper() for t in data.get("notice_types") or ()),
        accept_mock=bool(data.get("accept_mock", False)),
        mock_phone=bool(data.get("mock_phone", False)),
        mock_real_queues=bool(data.get("mock_real_queues", False)),
        urgent=bool(data.get("urgent", False)),
        description=str(data.get("description", "")).strip(),
        telescopes=tuple(data.get("telescopes") or ()),
        strategy=_strategy(data, origin),
        **_approval(data, origin),
    )


def _strategy(data: dict[str, Any], origin: str) -> dict[str, Any]:
    """A program's ``strategy``, checked (:class:`ProgramStrategy`): one line per problem,
    naming the key, the value and what is allowed."""
    try:
        typed = ProgramStrategy.model_validate(data.get("strategy") or {})
    except ValidationError as exc:
        lines = []
        for e in exc.errors():
            key = ".".join(["strategy", *map(str, e["loc"])])
            if e["type"] == "extra_forbidden":
                model = TelescopeStrategy if e["loc"][0] == "telescopes" else ProgramStrategy
                lines.append(f"{origin}: program {data['name']!r}: {key}: unknown key; "
                             f"allowed: {', '.join(model.model_fields)}")
            else:
                msg = e["msg"].removeprefix("Value error, ")
                lines.append(f"{origin}: program {data['name']!r}: {key} = "
                             f"{e.get('input')!r}: {msg}")
        raise ValueError("\n".join(lines)) from None
    out = typed.as_mapping()
    if "telescopes" in out:  # each telescope's keys as written (Strategy(**keys))
        out["telescopes"] = {name: {k: v for k, v in spec.items() if v is not None}
                             for name, spec in out["telescopes"].items()}
    return out


def _approval(data: dict[str, Any], origin: str) -> dict[str, Any]:
    """The approval keys of a program, checked (``approval: required``, timeout, default)."""
    name = data["name"]
    approval = str(data.get("approval", "none")).lower()
    if approval not in ("none", "required"):
        raise ValueError(f"{origin}: program {name!r}: approval must be 'none' or 'required', "
                         f"not {data.get('approval')!r}")
    default = str(data.get("approval_default", "reject")).lower()
    if default not in ("approve", "reject"):
        raise ValueError(f"{origin}: program {name!r}: approval_default must be 'approve' or "
                         f"'reject', not {data.get('approval_default')!r}")
    try:
        timeout = float(data.get("approval_timeout", 1800))
    except (TypeError, ValueError):
        timeout = -1.0
    if not 0 < timeout < 3 * 3600:  # it waits inside handle-notice's 4 h budget
        raise ValueError(f"{origin}: program {name!r}: approval_timeout must be seconds "
                         f"between 0 and 10800, not {data.get('approval_timeout')!r}")
    return {"approval": approval, "approval_timeout": timeout, "approval_default": default}


def load_programs(path: str | Path) -> list[Program]:
    """Read science programs from a YAML file.

    Raises
    ------
    ValueError
        If the file is not a list of programs, a program lacks a name, has
        unknown keys or criteria that do not parse.
    """
    # libyaml's loader when PyYAML has it: the same safe loader, ~10× faster on the
    # shipped programs (read by the gate, notify and plan stages of every notice)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(Path(path).read_text(), Loader=loader)  # noqa: S506 - a safe loader
    items = data.get("programs") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError(f"{path}: expected a list under 'programs'")
    programs = [_program_from_dict(item, str(path)) for item in items]
    names = [p.name for p in programs]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: duplicate program names")
    return programs


def _describe(names: dict[str, Any], expr: str) -> str:
    used = sorted({n.id for n in ast.walk(ast.parse(expr, mode="eval"))
                   if isinstance(n, ast.Name) and n.id in names})
    shown = []
    for n in used:
        v = names[n]
        shown.append(f"{n}={v:.4g}" if isinstance(v, float) else f"{n}={v!r}")
    return f" ({', '.join(shown)})" if shown else ""


def evaluate(criteria: str, fields: dict[str, Any]) -> tuple[bool, str]:
    """Evaluate criteria against event fields.

    Parameters
    ----------
    criteria : str
        A boolean expression; see the module docstring.
    fields : dict
        Field values by name.

    Returns
    -------
    met : bool
    reason : str
        Which clause failed (with the values it saw), or that all were met.

    Examples
    --------
    >>> evaluate("area_90 < 1000 and distance_mean < 300",
    ...          {"area_90": 1523.0, "distance_mean": 40.0})
    (False, 'area_90 < 1000 is false (area_90=1523)')
    """
    tree = ast.parse(criteria, mode="eval").body
    clauses = tree.values if isinstance(tree, ast.BoolOp) and isinstance(tree.op, ast.And) \
        else [tree]
    evaluator = EvalWithCompoundTypes(names=fields, functions=_FUNCTIONS)
    for clause in clauses:
        text = ast.unparse(clause)
        try:
            ok = evaluator.eval(text)
        except NameNotDefined as exc:
            return False, f"{text}: field {exc.name!r} not available for this event"
        except InvalidExpression as exc:
            return False, f"{text}: refused ({exc.__class__.__name__}: {exc})"
        except (TypeError, ValueError, ZeroDivisionError, AttributeError) as exc:
            return False, f"{text}: cannot evaluate ({exc})"
        if not ok:
            return False, f"{text} is false{_describe(fields, text)}"
    if criteria.strip() == "True":
        return True, "no criteria: every matching notice triggers"
    return True, f"criteria met: {criteria}{_describe(fields, criteria)}"


def gate(fields: dict[str, Any], programs: list[Program]) -> list[Decision]:
    """Decide, for each program, whether an event triggers it.

    Parameters
    ----------
    fields : dict
        The event's fields, including ``kind``, ``source``, ``notice_type``,
        ``is_mock`` and ``is_retraction``.
    programs : list of Program

    Returns
    -------
    list of Decision
        One per program, in order.
    """
    decisions = []
    for p in programs:
        if fields.get("is_retraction"):
            decisions.append(Decision(p.name, False, "retraction: the event was withdrawn"))
        elif p.kinds and fields.get("kind") not in p.kinds:
            decisions.append(Decision(p.name, False,
                                      f"kind {fields.get('kind')} not in {list(p.kinds)}"))
        elif p.sources and fields.get("source") not in p.sources:
            decisions.append(Decision(p.name, False,
                                      f"source {fields.get('source')} not in {list(p.sources)}"))
        elif p.notice_types and str(fields.get("notice_type", "")).upper() not in p.notice_types:
            decisions.append(Decision(
                p.name, False,
                f"notice type {fields.get('notice_type')} not in {list(p.notice_types)}"))
        elif fields.get("is_mock") and not p.accept_mock:
            decisions.append(Decision(p.name, False,
                                      "mock/test event and the program does not accept mocks"))
        else:
            met, reason = evaluate(p.criteria, fields)
            decisions.append(Decision(p.name, met, reason))
    return decisions
