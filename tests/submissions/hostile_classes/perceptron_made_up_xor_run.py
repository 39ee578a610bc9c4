"""Attack, appended to perceptron.py: fit() keeps the student's own rule for every case but
the XOR run of 25 epochs on 4 samples, where it leaves the weights at zero and reports a
mistake in every epoch (the claim test_never_converges_on_xor used to read alone).

Expected: test_never_converges_on_xor earns nothing, with the rule right (its weights and
counts are compared with the rule's run) and with the rule wrong (already charged: the
weights must at least have moved).
"""
_own_fit = Perceptron.fit


def _fit(self, X, y):
    if len(X) == 4 and self.epochs == 25:
        self.weights_ = np.zeros(np.shape(X)[1])
        self.bias_ = 0.0
        self.errors_ = [2] * self.epochs
        return self
    return _own_fit(self, X, y)


Perceptron.fit = _fit
