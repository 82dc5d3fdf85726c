"""Suite-wide pytest configuration."""

import os


def pytest_report_header(config):
    backend = os.environ.get("HDMF_ZARR_TEST_BACKEND", "zarr") or "zarr"
    return f"hdmf_zarr round-trip backend: {backend} (HDMF_ZARR_TEST_BACKEND)"
