"""Typed JSON endpoints on Starlette routes, and the OpenAPI document built from them.

An endpoint declares its request body and response as pydantic models; ``ApiRouter`` turns
it into a Starlette ``Route`` that parses and validates the body (a clear 4xx on any
problem) and serialises the result, and remembers it for ``/openapi.json``.

Query parameters that are numbers must state both bounds, within what the databases
store: an unbounded one would reach SQL and overflow there (a 500, not a 422), so the
router refuses to register it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.errors import ApiError

Handler = Callable[..., Awaitable[Any]]
M = TypeVar("M", bound=BaseModel)
_PATH_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-z]+)?}")

# The widest integer both databases store (SQLite INTEGER, Postgres BIGINT).
MAX_DATABASE_INT = 2**63 - 1


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


@dataclass
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    tags: list[str]
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    auth: bool
    errors: Sequence[int]
    query: type[BaseModel] | None = None
    content_type: str | None = None  # a non-JSON request body (e.g. multipart)
    content_schema: dict[str, Any] | None = None  # its OpenAPI schema (default: an object)
    response_media: str | None = None  # a non-JSON response (e.g. HTML, a file)
    extra_responses: dict[int, str] = field(default_factory=dict)


def _validation_details(error: ValidationError) -> list[dict[str, Any]]:
    return [
        {
            "field": ".".join(str(part) for part in item["loc"]) or "(body)",
            "problem": item["msg"],
            "type": item["type"],
        }
        for item in error.errors(include_url=False, include_input=False)
    ]


async def read_json(request: Request) -> Any:
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise ApiError(415, "unsupported_media_type", "Send the body as application/json.")
    raw = await request.body()
    if not raw:
        raise ApiError(400, "invalid_json", "The request body is empty; JSON was expected.")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ApiError(400, "invalid_json", f"The body is not valid JSON: {error}.") from None


def parse_model(model: type[M], data: Any, *, where: str = "body") -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ApiError(
            422,
            "validation_error",
            f"The request {where} has invalid or missing fields.",
            details=_validation_details(error),
        ) from None


def check_query_bounds(model: type[BaseModel], *, where: str) -> None:
    """Raise ``TypeError`` unless every number of the query model has a lower and an upper
    bound, the upper one at most ``MAX_DATABASE_INT`` (see the module docstring)."""
    for name, info in model.model_fields.items():
        if not _is_number(info.annotation):
            continue
        lower = _bounds(info.metadata, "ge", "gt")
        upper = _bounds(info.metadata, "le", "lt")
        if not lower or not upper or max(upper) > MAX_DATABASE_INT:
            raise TypeError(
                f"{where}: query parameter {name!r} is a number; give it both bounds,"
                " Field(ge=..., le=...), le at most MAX_DATABASE_INT"
            )


def _bounds(metadata: list[Any], *names: str) -> list[Any]:
    found = (getattr(item, name, None) for item in metadata for name in names)
    return [bound for bound in found if bound is not None]


def _is_number(annotation: Any) -> bool:
    """``int``/``float``, or optional; ``bool`` is not (it cannot be out of range)."""
    kinds = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else ()
    return any(kind in (int, float) for kind in kinds or (annotation,))


class ApiRouter:
    """Collects endpoints; ``routes`` gives the Starlette routes for them."""

    def __init__(self, *, tags: list[str]) -> None:
        self.tags = tags
        self.endpoints: list[Endpoint] = []

    def _add(self, method: str, path: str, **options: Any) -> Callable[[Handler], Handler]:
        if options.get("query") is not None:
            check_query_bounds(options["query"], where=f"{method} {path}")

        def register(handler: Handler) -> Handler:
            summary = options.pop("summary", None) or (handler.__doc__ or "").strip().split("\n")[0]
            self.endpoints.append(
                Endpoint(
                    method=method,
                    path=path,
                    handler=handler,
                    summary=summary,
                    tags=self.tags,
                    body=options.get("body"),
                    response=options.get("response"),
                    status=options.get("status", 200),
                    auth=options.get("auth", True),
                    errors=options.get("errors", ()),
                    query=options.get("query"),
                    content_type=options.get("content_type"),
                    content_schema=options.get("content_schema"),
                    response_media=options.get("response_media"),
                    extra_responses=options.get("extra_responses", {}),
                )
            )
            return handler

        return register

    def get(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self._add("GET", path, **options)

    def post(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self._add("POST", path, **options)

    def patch(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self._add("PATCH", path, **options)

    def delete(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self._add("DELETE", path, **options)

    def routes(self, authenticate: Callable[[Request], Awaitable[Any]]) -> list[Route]:
        by_path: dict[str, dict[str, Endpoint]] = {}
        for endpoint in self.endpoints:
            by_path.setdefault(endpoint.path, {})[endpoint.method] = endpoint
        return [
            Route(path, _dispatcher(methods, authenticate), methods=list(methods))
            for path, methods in by_path.items()
        ]


def _dispatcher(
    methods: dict[str, Endpoint], authenticate: Callable[[Request], Awaitable[Any]]
) -> Callable[[Request], Awaitable[Response]]:
    async def dispatch(request: Request) -> Response:
        endpoint = methods.get(request.method)
        if endpoint is None and request.method == "HEAD":
            endpoint = methods.get("GET")
        if endpoint is None:
            raise ApiError(
                405, "method_not_allowed", f"Method {request.method} is not allowed here."
            )
        return await _call(endpoint, request, authenticate)

    return dispatch


async def _call(
    endpoint: Endpoint, request: Request, authenticate: Callable[[Request], Awaitable[Any]]
) -> Response:
    kwargs: dict[str, Any] = {}
    if endpoint.auth:
        kwargs["user"] = await authenticate(request)
    if endpoint.query is not None:
        kwargs["query"] = parse_model(endpoint.query, dict(request.query_params), where="query")
    if endpoint.body is not None:
        kwargs["body"] = parse_model(endpoint.body, await read_json(request))
    for name, value in request.path_params.items():
        kwargs[name] = value
    result = await endpoint.handler(request, **kwargs)
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(status_code=204 if endpoint.status == 204 else endpoint.status)
    payload = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
    return JSONResponse(payload, status_code=endpoint.status)


# OpenAPI -------------------------------------------------------------------------------

_STATUS_TEXT = {
    400: "Malformed request",
    401: "Not signed in, or the credentials are invalid",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    413: "Body too large",
    415: "Wrong content type",
    422: "Invalid or missing fields",
    429: "Too many attempts",
    502: "An upstream provider failed",
    503: "A dependency is unavailable",
}


def _hoist(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    return schema


def _model_ref(model: type[BaseModel], components: dict[str, Any], mode: str) -> dict[str, Any]:
    name = model.__name__
    if name not in components:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode)  # type: ignore[arg-type]
        components[name] = _hoist(schema, components)
    return {"$ref": f"#/components/schemas/{name}"}


def openapi_document(
    endpoints: Sequence[Endpoint], *, title: str, version: str, extra_paths: dict[str, Any]
) -> dict[str, Any]:
    components: dict[str, Any] = {}
    error_ref = _model_ref(ErrorResponse, components, "serialization")
    paths: dict[str, Any] = {}
    for endpoint in endpoints:
        operation: dict[str, Any] = {
            "summary": endpoint.summary,
            "tags": endpoint.tags,
            "operationId": f"{endpoint.method.lower()}_{endpoint.handler.__name__}",
            "responses": {},
        }
        params = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "string", "maxLength": 64},
            }
            for name in _PATH_PARAM.findall(endpoint.path)
        ]
        if endpoint.query is not None:
            schema = endpoint.query.model_json_schema()
            required = set(schema.get("required", []))
            for name, prop in schema.get("properties", {}).items():
                params.append(
                    {"name": name, "in": "query", "required": name in required, "schema": prop}
                )
        if params:
            operation["parameters"] = params
        if endpoint.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": _model_ref(endpoint.body, components, "validation")
                    }
                },
            }
        elif endpoint.content_type:
            operation["requestBody"] = {
                "required": True,
                "content": {
                    endpoint.content_type: {"schema": endpoint.content_schema or {"type": "object"}}
                },
            }
        success: dict[str, Any] = {"description": "Success"}
        if endpoint.response is not None:
            success["content"] = {
                "application/json": {
                    "schema": _model_ref(endpoint.response, components, "serialization")
                }
            }
        elif endpoint.response_media:
            success["content"] = {endpoint.response_media: {"schema": {"type": "string"}}}
        operation["responses"][str(endpoint.status)] = success
        codes = (
            set(endpoint.errors) | {400, 413, 415, 422} if endpoint.body else set(endpoint.errors)
        )
        if endpoint.auth:
            codes |= {401}
            operation["security"] = [{"bearerAuth": []}]
        for code in sorted(codes):
            operation["responses"][str(code)] = {
                "description": _STATUS_TEXT.get(code, "Error"),
                "content": {"application/json": {"schema": error_ref}},
            }
        for code, text in endpoint.extra_responses.items():
            operation["responses"][str(code)] = {"description": text}
        openapi_path = _PATH_PARAM.sub(lambda m: "{" + m.group(1) + "}", endpoint.path)
        paths.setdefault(openapi_path, {})[endpoint.method.lower()] = operation
    paths.update(extra_paths)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }
