"""Lock files: pins of names at versions, the YAML format, and the lock an analysis records its
inputs in."""
