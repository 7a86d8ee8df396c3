"""The Lambda handler's event logic without a registry: which event is maintenance, which prefix a
gateway put in front of the path, and the response-size guard."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tmr.aws import LAMBDA_RESPONSE_LIMIT, fit_response, maintenance_action, public_prefix


def rest(path: str, outer: str, stage: str = "prod") -> dict[str, Any]:
    return {"resource": "/{proxy+}", "path": path, "requestContext": {"stage": stage, "path": outer}}


def http(path: str, stage: str = "$default") -> dict[str, Any]:
    return {"version": "2.0", "rawPath": path, "requestContext": {"stage": stage, "http": {"path": path}}}


@pytest.mark.parametrize(
    ("event", "base_path", "expected"),
    [
        # HTTP API on $default: nothing in front.
        (http("/health"), "", ("", "")),
        # HTTP API on a named stage, called through its execute-api URL: the stage is in the path.
        (http("/prod/health", "prod"), "", ("/prod", "/prod")),
        (http("/prod", "prod"), "", ("/prod", "/prod")),
        (http("/production/health", "prod"), "", ("", "")),  # a longer name is not the stage
        # REST API: `path` without the stage, `requestContext.path` with it.
        (rest("/health", "/prod/health"), "", ("", "/prod")),
        # ... even when the stage is called like a route: nothing is stripped from the route.
        (rest("/artifacts", "/artifacts/artifacts", stage="artifacts"), "", ("", "/artifacts")),
        # An HTTP API's 1.0 payload on a named stage: both carry it.
        (rest("/prod/health", "/prod/health"), "", ("/prod", "/prod")),
        # A custom domain mapping `registry`: stripped when present, the root path either way.
        (http("/registry/health"), "/registry", ("/registry", "/registry")),
        (http("/health"), "/registry", ("", "/registry")),
        (http("/registryx/health"), "/registry", ("", "/registry")),
        (rest("/registry/health", "/registry/health"), "/registry", ("/registry", "/registry")),
        (rest("/health", "/registry/health"), "/registry", ("", "/registry")),
        # A REST custom domain with an empty mapping: no prefix at all.
        (rest("/health", "/health"), "", ("", "")),
    ],
)
def test_the_prefix_a_gateway_put_in_front(
    event: dict[str, Any], base_path: str, expected: tuple[str, str]
) -> None:
    path = event.get("path") or event["requestContext"]["http"]["path"]
    assert public_prefix(event, path, base_path) == expected


@pytest.mark.parametrize(
    ("event", "action"),
    [
        ({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}, "gc"),
        ({"tmr": "gc"}, "gc"),
        ({"tmr": "migrate"}, "migrate"),
        ({"source": "aws.events", "detail-type": "EC2 Instance State-change Notification"}, None),
        ({"hello": "world"}, None),
    ],
)
def test_maintenance_events(event: dict[str, Any], action: str | None) -> None:
    assert maintenance_action(event) == action


def test_an_unknown_maintenance_action_is_refused() -> None:
    with pytest.raises(ValueError, match="expected one of gc, migrate"):
        maintenance_action({"tmr": "drop-everything"})


def test_a_response_that_fits_is_returned_as_it_is() -> None:
    response = {
        "statusCode": 200,
        "headers": {},
        "body": "x" * (LAMBDA_RESPONSE_LIMIT - 1024),
        "isBase64Encoded": False,
    }
    assert fit_response(response, {}) is response


def test_a_response_over_the_limit_becomes_a_500_naming_the_ways_around() -> None:
    response = {
        "statusCode": 200,
        "headers": {},
        "body": "x" * LAMBDA_RESPONSE_LIMIT,
        "isBase64Encoded": True,
    }
    event = {"headers": {"X-Request-ID": "r-1"}, "requestContext": {"requestId": "gw-1"}}
    fitted = fit_response(response, event)
    assert fitted["statusCode"] == 500
    assert fitted["headers"]["x-request-id"] == "r-1"
    body = json.loads(fitted["body"])
    assert body["code"] == "lambda_response_too_large"
    assert "Range" in body["detail"]
    # Without a client id, API Gateway's.
    assert (
        fit_response(response, {"requestContext": {"requestId": "gw-1"}})["headers"]["x-request-id"] == "gw-1"
    )
