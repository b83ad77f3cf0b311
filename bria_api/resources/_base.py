"""Shared plumbing of the resource namespaces: call an operation, parse the answer into a model."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from bria_api.errors import BriaResponseError, BriaValidationError
from bria_api.models.base import RequestModel
from bria_api.operations import OPERATIONS
from bria_api.transport import Transport

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R", bound=RequestModel)


def build(model: type[R], fields: dict[str, Any], *, exclude: tuple[str, ...] = ()) -> R:
    """Validate a request locally from a method's arguments (``locals()``: ``self``, ``exclude`` and unset
    values are dropped); errors name the fields and never echo the input."""
    skip = {"self", *exclude}
    try:
        return model(**{k: v for k, v in fields.items() if v is not None and k not in skip})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or model.__name__}: {err['msg']}" for err in exc.errors()
        )
        first = exc.errors()[0]["loc"] if exc.errors() else ()
        raise BriaValidationError(
            f"invalid {model.__name__}: {problems}", field=".".join(str(p) for p in first) or None
        ) from None


def parser(shape: Any, op_id: str) -> Callable[[httpx.Response], Any]:
    """A parse function for ``Transport.call``: JSON body → ``shape`` (a model or e.g. ``list[Model]``)."""
    adapter = TypeAdapter(shape)

    def parse(response: httpx.Response) -> Any:
        rid = response.headers.get("x-request-id")
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
            kind = "HTML" if response.text.lstrip().startswith("<") else "malformed JSON"
            raise BriaResponseError(
                f"{op_id}: {kind} in a {response.status_code} response", request_id=rid
            ) from None
        try:
            return adapter.validate_python(body)
        except ValidationError as exc:
            raise BriaResponseError(
                f"{op_id}: unexpected response shape ({exc.error_count()} problems, first at "
                f"{'.'.join(str(p) for p in exc.errors()[0]['loc']) or 'root'})",
                request_id=rid,
            ) from None

    return parse


class Resource:
    """A namespace of operations over the shared transport."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def _call(
        self,
        op_id: str,
        shape: Any = None,
        *,
        path: dict[str, Any] | None = None,
        body: RequestModel | dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        payload = body.to_body() if isinstance(body, RequestModel) else body
        return await self._transport.call(
            OPERATIONS[op_id],
            path=path,
            json=payload,
            params={k: v for k, v in (params or {}).items() if v is not None} or None,
            parse=parser(shape, op_id) if shape is not None else None,
        )
