"""What every configuration section shares: the frozen, strict base model and its rule errors.

No Django here (`config_sections` has the sections of trading, `config_operations` those of running
the engine; `config_schema` validates whole documents built from them).
"""

from __future__ import annotations

import ipaddress
from typing import Annotated

import annotated_types
from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic_core import PydanticCustomError

MASK = "********"

ConfigPath = tuple[str | int, ...]


def rule_error(problems: list[tuple[ConfigPath, str]]) -> PydanticCustomError:
    # A Python validator can raise only one pydantic error; the individual problems ride along in
    # the context so `_errors_from` can report each one under its own dotted path.
    return PydanticCustomError(
        "config_rule", "{summary}", {"summary": "; ".join(m for _, m in problems), "problems": problems}
    )


def _ip_or_cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise PydanticCustomError("ip_or_cidr", "not an IP address or CIDR range") from None
    return value


IpOrCidr = Annotated[str, annotated_types.MinLen(1), AfterValidator(_ip_or_cidr)]


class Section(BaseModel):
    # frozen: a loaded config is shared by the engine loop and views; a change is a new document.
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
