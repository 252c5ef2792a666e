"""Development tools: the provider simulator, the synthetic warehouse and its outcome
orders, the benchmarks, the demo's wiring and the loopback server thread.

Production code never imports this package (tests/test_layout.py walks the import
graph), and the wheel leaves it out: a production install has no fake provider to
point at by mistake. The `campaigns` verbs `demo`, `seed`, `provider-sim` and `bench`
are listed where the package is present, as in a checkout.
"""
