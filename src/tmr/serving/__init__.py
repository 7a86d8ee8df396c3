"""How tmr is served: the HTTP server configuration `tmr serve` runs."""
