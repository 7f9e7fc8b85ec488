"""JSON schemas in the form strict structured outputs accept."""

from __future__ import annotations

import copy
from typing import Any, cast

from pydantic import BaseModel


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema in the form strict structured outputs require: references
    inlined, every property required (optional ones nullable), no extra properties."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def visit(node: Any) -> Any:
        if isinstance(node, list):
            return [visit(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return visit(copy.deepcopy(definitions[node["$ref"].rsplit("/", 1)[-1]]))
        result = {
            key: visit(value)
            for key, value in node.items()
            if key not in ("default", "title", "description")
        }
        if result.get("type") == "object" and "properties" in result:
            result["required"] = list(result["properties"])
            result["additionalProperties"] = False
        return result

    return cast(dict[str, Any], visit(schema))
