"""How MLflow's client talks: GET requests carry the message as query parameters, the other
verbs (DELETE too) as a JSON body; responses are protobuf-JSON objects, NaN and infinities as
the strings "NaN", "Infinity", "-Infinity"; errors as :mod:`.errors` renders them."""

from __future__ import annotations

import math
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from steward.api.mlflow import errors
from steward.core.errors import InvalidArgument, StewardError
from steward.runtime import Runtime

JSON = "application/json"
EMPTY = b"{}"


class MlflowRoute(APIRoute):
    """Renders every failure of the route, authentication included, in MLflow's shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except StewardError as exc:
                return errors.render(exc)
            except RequestValidationError as exc:
                detail = "; ".join(str(e.get("msg", "")) for e in exc.errors())
                return errors.error_response("INVALID_PARAMETER_VALUE", f"Malformed request: {detail}", 400)
            except Exception as exc:  # the client expects MLflow's shape even for our bugs
                return errors.internal(exc)

        return route


def ok(payload: dict[str, Any] | None = None) -> Response:
    return Response(orjson.dumps(payload) if payload else EMPTY, media_type=JSON)


def num(value: float) -> float | str:
    """A double as protobuf-JSON writes it (JSON has no NaN or infinities)."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _missing(name: str) -> InvalidArgument:
    return InvalidArgument(
        f"Missing value for required parameter '{name}'. See the API docs for more information about "
        "request parameters.",
        field=name,
    )


class Message:
    """One request's fields, whether they came as query parameters or a JSON body."""

    def __init__(self, data: dict[str, Any], *, from_query: bool) -> None:
        self.data = data
        self.from_query = from_query

    def _one(self, name: str) -> Any:
        value = self.data.get(name)
        if self.from_query and isinstance(value, list):
            return value[-1] if value else None
        return value

    def has(self, name: str) -> bool:
        return self._one(name) not in (None, "")

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self._one(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InvalidArgument(f"The '{name}' parameter must be a string. Got {value!r} instead.", field=name)
        return str(value)

    def required(self, name: str) -> str:
        value = self.text(name)
        if value is None or value == "":
            raise _missing(name)
        return value

    def run_id(self) -> str:
        """MLflow clients send ``run_id``, ``run_uuid`` or both (older servers read run_uuid)."""
        value = self.text("run_id") or self.text("run_uuid")
        if not value:
            raise _missing("run_id")
        return value

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self._one(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise InvalidArgument(f"The '{name}' parameter must be an integer. Got {value!r}.", field=name)
        try:
            if isinstance(value, float):
                if not value.is_integer():
                    raise ValueError
                return int(value)
            return int(value)
        except (TypeError, ValueError):
            raise InvalidArgument(
                f"The '{name}' parameter must be an integer. Got {value!r} instead.", field=name
            ) from None

    def max_results(self, default: int) -> int:
        value = self.integer("max_results")
        return default if value is None else value

    def number(self, name: str) -> float | None:
        value = self._one(name)
        if value is None:
            return None
        if isinstance(value, bool):
            raise InvalidArgument(f"The '{name}' parameter must be a number. Got {value!r}.", field=name)
        try:
            return float(value)  # also "NaN", "Infinity", "-Infinity", as protobuf-JSON allows
        except (TypeError, ValueError):
            raise InvalidArgument(
                f"The '{name}' parameter must be a number. Got {value!r} instead.", field=name
            ) from None

    def flag(self, name: str, default: bool = False) -> bool:
        value = self._one(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise InvalidArgument(f"The '{name}' parameter must be true or false. Got {value!r}.", field=name)

    def items(self, name: str) -> list[Any]:
        value = self.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            if self.from_query:
                return [value]
            raise InvalidArgument(f"The '{name}' parameter must be a list. Got {value!r} instead.", field=name)
        return value

    def objects(self, name: str) -> list[dict[str, Any]]:
        items = self.items(name)
        if not all(isinstance(i, dict) for i in items):
            raise InvalidArgument(f"Each item of '{name}' must be an object.", field=name)
        return items

    def key_values(self, name: str, *, value_field: str = "value") -> dict[str, str]:
        """``[{"key": k, "value": v}, ...]`` as a dict; a key given twice with two values is an error."""
        out: dict[str, str] = {}
        for item in self.objects(name):
            key, value = item.get("key"), item.get(value_field, "")
            if not isinstance(key, str) or not key:
                raise InvalidArgument(f"Each item of '{name}' needs a non-empty string 'key'.", field=name)
            value = "" if value is None else str(value)
            if key in out and out[key] != value:
                raise InvalidArgument(
                    f"Duplicate {name} key {key!r} with different values {out[key]!r} and {value!r}.",
                    field=name,
                )
            out[key] = value
        return out


async def read_message(request: Request) -> Message:
    if request.method == "GET":
        data: dict[str, Any] = {}
        for k, v in request.query_params.multi_items():
            data.setdefault(k, []).append(v)
        return Message(data, from_query=True)
    body = await request.body()
    if not body.strip():
        data = {}
    else:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise InvalidArgument("The request body is not valid JSON.", field="body") from None
        if not isinstance(data, dict):
            raise InvalidArgument("The request body must be a JSON object.", field="body")
    return Message(data, from_query=False)


async def _runtime(request: Request) -> Runtime:
    # async on purpose: a sync dependency would cost a thread hop on every request
    rt: Runtime = request.app.state.runtime
    return rt


Msg = Annotated[Message, Depends(read_message)]
Rt = Annotated[Runtime, Depends(_runtime)]
