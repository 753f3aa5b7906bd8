"""One importer module per dataset, found through :mod:`faceexplorer.datasets.registry`.

Every importer module exposes the same small protocol (see ``registry.Importer``):
``KIND``, ``TITLE``, ``TABLES``, ``detect(path)``, ``load(con, path, report, **options)``
and ``summary(con)``. Importers stage data with DuckDB's own CSV reader (a Python row
loop could not stay within 1.5x of ``read_csv``) and write only their own tables, inside
the one transaction :func:`faceexplorer.index.store.run_import` opens.
"""
