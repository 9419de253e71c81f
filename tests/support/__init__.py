"""What tests and benchmarks share: generated clips, the hostile corpora, the browser, the running stack,
the test accounts. Plain importable modules; fixtures stay in the conftest files that use them."""
