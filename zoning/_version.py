"""The package version, in a module of its own so that any part of zoning can read it
without importing the package that imports that part."""

__version__ = "0.1.0"
