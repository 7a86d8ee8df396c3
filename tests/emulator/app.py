"""Assembles the emulator ASGI app: Hub routes at the root, GitHub under /github, control under /_emulator."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from tests.emulator.faults import FaultController, FaultMiddleware, control_routes
from tests.emulator.fixtures import DEFAULT_FIXTURES, Fixtures
from tests.emulator.github import GitHubRoutes
from tests.emulator.hf import HubRoutes


def create_emulator_app(
    fixtures: Fixtures | None = None, controller: FaultController | None = None
) -> Starlette:
    """Build the app; `app.state.faults` is the fault controller and `app.state.fixtures` the served repos.

    The Hub catch-all route is registered last so /github and /_emulator win; the fault middleware wraps
    everything so injected faults look like real upstream failures to the client.
    """
    fixtures = fixtures if fixtures is not None else DEFAULT_FIXTURES
    controller = controller if controller is not None else FaultController()
    routes: list[BaseRoute] = [
        *control_routes(controller),
        *GitHubRoutes(fixtures, controller).routes(),
        *HubRoutes(fixtures).routes(),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(FaultMiddleware, controller=controller)])
    app.state.faults = controller
    app.state.fixtures = fixtures
    return app
