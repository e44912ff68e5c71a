"""`coeqwal bench`: the benchmark runner and its parts (API latency, scaling, statistics)."""
