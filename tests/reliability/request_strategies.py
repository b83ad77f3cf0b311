"""Hypothesis strategies for every request model, read from the models' own field types and bounds.

``valid_fields(model)`` draws dicts whose every field is valid on its own (the model's cross-field rules may
still refuse the combination: that is what the property tests check against the emulator).
``invalid_fields(model)`` draws a valid dict with exactly one field broken (out of range, wrong type, too
long, unknown value, unknown field) and returns the culprit's name with it.

Fields whose meaning is more than their type (JSON text, URLs, image inputs, resource ids) draw from
``Context``, so that valid examples are things Bria could act on (real ids, fetchable images).
"""

from __future__ import annotations

import enum
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

import annotated_types as at
from hypothesis import strategies as st
from pydantic import AnyHttpUrl
from pydantic.fields import FieldInfo

from bria_api.models.base import RequestModel

JSON_TEXT = {"structured_prompt", "user_adjusted_structured_prompt", "visual_schema", "caption"}
IMAGE_LISTS = {"images", "context_images"}
_ALPHABET = "aZ09 -_.,'\"/:é中ß🙂\t"  # ASCII, accents, CJK, emoji, quotes and a tab: what prompts hold
_TEXT = st.text(alphabet=_ALPHABET, max_size=30)


@dataclass
class Context:
    """Values that must point at something real when examples are sent to the emulator."""

    image_url: str = "https://example.com/a.png"
    webhook_url: str = "https://example.com/hook"
    zip_url: str = "https://example.com/set.zip"
    ids: dict[str, Any] = field(default_factory=dict)  # field name -> fixed valid value (project_id, ...)


def _bounds(info: FieldInfo) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in info.metadata:
        for name, cls in (("ge", at.Ge), ("le", at.Le), ("min_length", at.MinLen), ("max_length", at.MaxLen)):
            if isinstance(m, cls):
                out[name] = getattr(m, name)
    return out


def _core(annotation: Any) -> tuple[Any, bool]:
    """(the type without None, whether None is allowed)."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0], True
    return annotation, False


def _json_object() -> st.SearchStrategy[str]:
    leaves = st.one_of(st.integers(-5, 5), _TEXT, st.booleans())
    keys = st.sampled_from(["description", "style", "lighting", "objects", "a", "background"])
    return st.dictionaries(keys, leaves, min_size=1, max_size=4).map(json.dumps)


def valid_value(name: str, info: FieldInfo, ctx: Context) -> st.SearchStrategy[Any]:
    kind, _ = _core(info.annotation)
    b = _bounds(info)
    if name in ctx.ids:
        return st.just(ctx.ids[name])
    if name in JSON_TEXT:
        return _json_object()
    if name in IMAGE_LISTS:
        return st.lists(
            st.just(ctx.image_url), min_size=b.get("min_length", 1), max_size=min(b.get("max_length", 3), 10)
        )
    if name in ("image", "image_url"):
        return st.just(ctx.image_url)
    if kind is AnyHttpUrl:
        return st.just(ctx.zip_url if name == "zip_url" else ctx.webhook_url)
    if typing.get_origin(kind) is Literal:
        return st.sampled_from(typing.get_args(kind))
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return st.sampled_from(list(kind))
    if kind is bool:
        return st.booleans()
    if kind is int:
        return st.integers(b.get("ge", 0), b.get("le", 2_147_483_647))
    if kind is float:
        return st.floats(b.get("ge", 0.0), b.get("le", 1e6), allow_nan=False)
    if kind is str:  # never blank: Bria reads "" and "   " as absent, which is a different request
        longest = min(b.get("max_length", 40), 40)
        return st.text(alphabet=_ALPHABET, max_size=longest - 1).map(lambda text: "a" + text)
    raise NotImplementedError(f"no strategy for {name}: {info.annotation}")


def invalid_value(name: str, info: FieldInfo) -> st.SearchStrategy[Any]:
    """A value this field must refuse whatever the other fields say."""
    kind, _ = _core(info.annotation)
    b = _bounds(info)
    # a dict is a valid structured prompt (sent as its JSON text), an int a valid model id (sent as text)
    wrong_type = st.sampled_from(
        [[], 12]
        if name in JSON_TEXT
        else ["text", {"x": 1}]
        if typing.get_origin(kind) is list
        else [[], {"x": 1}]
    )
    choices: list[st.SearchStrategy[Any]] = []
    if name in JSON_TEXT:
        choices.append(
            st.sampled_from(
                ["{not json", "{'single': 'quotes'}", "[1, 2", '{"a": }', "[1, 2]", "null", '"text"']
            )
        )
    if name in IMAGE_LISTS and "max_length" in b:
        choices.append(
            st.lists(
                st.just("https://example.com/a.png"),
                min_size=b["max_length"] + 1,
                max_size=b["max_length"] + 3,
            )
        )
    if name in IMAGE_LISTS and b.get("min_length", 0) > 1:
        choices.append(st.lists(st.just("https://example.com/a.png"), max_size=b["min_length"] - 1))
    if kind is AnyHttpUrl:
        choices.append(
            st.sampled_from(["ftp://example.com/x", "not a url", "javascript:alert(1)", "http://"])
        )
    if typing.get_origin(kind) is Literal or (isinstance(kind, type) and issubclass(kind, enum.Enum)):
        choices.append(st.sampled_from(["bogus", "1:3", "PHOTOGRAPHY ", "none"]))
    if kind is bool:
        choices.append(st.sampled_from(["maybe", 2, -1, [], {}]))
    if kind in (int, float):
        if "ge" in b:
            choices.append(
                st.integers(max_value=int(b["ge"]) - 1)
                if kind is int
                else st.floats(max_value=b["ge"], exclude_max=True, allow_nan=False, allow_infinity=False)
            )
        if "le" in b:
            choices.append(
                st.integers(min_value=int(b["le"]) + 1)
                if kind is int
                else st.floats(min_value=b["le"], exclude_min=True, allow_nan=False, allow_infinity=False)
            )
        choices.append(st.sampled_from(["abc", "1e999x", []]))
        if kind is int:
            choices.append(st.sampled_from([1.5, "2.5", "seven"]))
    if kind is str:
        if "max_length" in b and b["max_length"] <= 300_000:
            choices.append(st.integers(b["max_length"] + 1, b["max_length"] + 5).map(lambda n: "x" * n))
        if b.get("min_length", 0) >= 1:
            choices.append(st.just(""))
    choices.append(wrong_type)
    return st.one_of(choices)


def valid_fields(
    model: type[RequestModel], ctx: Context, *, optional: bool = True
) -> st.SearchStrategy[dict[str, Any]]:
    fields = model.model_fields
    required = {n: valid_value(n, f, ctx) for n, f in fields.items() if f.is_required()}
    extra = {n: valid_value(n, f, ctx) for n, f in fields.items() if not f.is_required()} if optional else {}
    return st.fixed_dictionaries(required, optional=extra)


@st.composite
def invalid_fields(draw: st.DrawFn, model: type[RequestModel], ctx: Context) -> tuple[str, dict[str, Any]]:
    """(culprit field, fields): one field broken, or one unknown field added."""
    base = draw(valid_fields(model, ctx))
    names = [n for n in model.model_fields if n != "sync"]  # sync is the client's to set
    culprit = draw(st.sampled_from([*names, "unknown_field"]))
    if culprit == "unknown_field":
        return culprit, {**base, culprit: draw(_TEXT)}
    return culprit, {**base, culprit: draw(invalid_value(culprit, model.model_fields[culprit]))}
