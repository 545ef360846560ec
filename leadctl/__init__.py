"""leadctl: decide who gets each incoming lead."""

__version__ = "0.1.0"
