"""The catalog's history: changesets in the store (the log), their validation, and the SQLite
index that replays them, with its read queries."""
