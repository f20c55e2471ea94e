"""Catalog, the one class the faces call, and what it owns: parsing, reads, writes and their one
commit path, exports, verify and gc, uploads, verified ranged reads."""
