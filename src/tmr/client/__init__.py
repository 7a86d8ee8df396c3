"""A client of a tmr registry over its HTTP API, for the `tmr` user commands: credentials kept in
the user's config directory, requests whose refusals become exit codes, a folder zipped while it
streams up, and packages pulled with resume and a checked sha256.

The one HTTP client outside `tmr.sources` and the workload runner: it speaks to a registry, never
to an upstream, and no server code imports it."""
