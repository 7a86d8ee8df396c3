"""The browser UI: server-rendered pages over the same use-case services as the API.

Pages parse a form or a query, call one service with the signed-in principal and render a Jinja2
template; small plain JavaScript only enhances what already works without it.
"""
