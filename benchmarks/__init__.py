"""Benchmarks: large files built with the generator, throughput and memory of validate."""
