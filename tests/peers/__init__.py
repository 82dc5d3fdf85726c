"""The peers' own round-trip suites (pynwb, hdmf) run through our IO in both layouts."""
