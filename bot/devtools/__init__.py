"""Developer tooling, apart from the product: the benchmark, synthetic corpora, the
question-set evaluation and the loopback fakes the tests and the benchmark share."""
