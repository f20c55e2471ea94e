"""Catalog, the one class the faces call, and what it owns: writes and their commit, exports,
verify and gc, uploads, verified ranged reads."""
