"""Rule sets, layers and registries in PostgreSQL/PostGIS (the ``postgis`` extra: psycopg 3).

:mod:`~zoning.db.publish` writes a validated rule set as a release, :mod:`~zoning.db.releases` reads one
back as the engine's layers, :mod:`~zoning.db.tables` and :mod:`~zoning.db.runs` read and write
registries in tables for screening. See README, "PostgreSQL/PostGIS".
"""
