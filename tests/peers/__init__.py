"""The peers' own round-trip suites (pynwb, hdmf) run through our IO in both layouts.

- ``test_peer_pynwb.py``: pynwb's ``tests/integration/hdf5``; ``test_peer_hdmf.py``: hdmf's
  ``tests/unit/common`` round trips. Both are fetched at test time from the installed versions'
  source distributions with pip (``_fetch``; never committed) into ``$HDMF_ZARR_PEERS_CACHE``
  or ``tests/peers/.cache``. A failed fetch fails ``test_suite_loads``.
- Each test runs as ``<module>__<Class>__L2`` and ``__L3``, with ``NWBHDF5IO``/``HDF5IO``
  replaced by ``NWBZarrIO``/``ZarrIO`` (``_swap``).
- The bodies run in one pytest worker subprocess per layout, beside the main session
  (``_worker``); ``HDMF_ZARR_PEERS_INLINE=1`` runs them in the main process (debugging).
- ``known_differences.toml`` lists the tests that cannot pass through a Zarr IO, with the reason
  and the text of their failure; a listed test that passes fails (``_known``, ``conftest``).
"""
