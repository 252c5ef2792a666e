"""The synthetic commerce warehouse the embedded default and the benchmarks run on."""
