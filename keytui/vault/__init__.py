"""The keyring-backed store for long-term keys and sessions (issue 3). Nothing here yet by design:
the package exists so that the layer contracts already cover it."""
