"""The foundation every layer uses: errors, times and sizes, names, BLAKE3 hashes, file writing,
SQLite connections, crash points. Imports nothing else of the package."""
