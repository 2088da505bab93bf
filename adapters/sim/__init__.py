"""The built-in simulator: signals for tests, demos and benchmarks, with writable points that echo back."""
