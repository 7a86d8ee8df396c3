"""One module per page family; each exports a `router` of `PageRoute`s."""
