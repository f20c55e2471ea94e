"""The version of eoscatalog."""

__version__ = "0.1.0"
