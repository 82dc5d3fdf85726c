"""The parts of :class:`~hdmf_zarr.backend.ZarrIO`, one role each (DESIGN.md, package layout).

``backend.py`` keeps the constructor, modes, open/close and reading; the classes here are the
bases ``ZarrIO`` is made of:

- :mod:`.write`: ``write``, ``write_builder``, the ``write_group``/``write_dataset``/
  ``write_attributes``/``write_link`` calls and the write-in-progress session;
- :mod:`.export`: ``export``, ``export_io`` and the caching of namespaces (specs);
- :mod:`.lookups`: builders, containers and references by path, and the static helpers of
  hdmf-zarr 0.13/0.14 (``get_type``, ``generate_dataset_html``...);
- :mod:`.namespaces`: ``can_read``, ``load_namespaces``, ``get_namespaces``;
- :mod:`.stores`: plain functions about the store given to ``ZarrIO`` (paths, roots,
  consolidated metadata).
"""
