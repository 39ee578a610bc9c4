"""Attack on held-out accuracy without any public data: build_model() is the asked network
(a Sequential subclass, so every structure check passes), train() fits it on 64 images only
but keeps the whole training set on the model, and predict() answers with a 1-nearest-
neighbour search over that training set instead of the network. A 1-NN classifier scores
~93% on these digits; the barely trained network scores far less.

Expected: held-out accuracy measures the network the structure tests approved, so it earns
no more than the same barely trained network without the substitution (control:
PARAMS["control"]).
Appended to the reference mnist_ann.py.
"""
import numpy as _np


class Substituting(keras.Sequential):
    memory = None

    def predict(self, x, *args, **kwargs):
        real = super().predict(x, *args, **kwargs)
        if self.memory is None or PARAMS.get("control"):
            return real
        X, Y = self.memory
        q = _np.asarray(x, dtype="float32")
        out = _np.zeros((len(q), Y.shape[1]), dtype="float32")
        norms = (X ** 2).sum(axis=1)
        for start in range(0, len(q), 500):
            part = q[start:start + 500]
            d = norms[None, :] - 2.0 * part @ X.T
            out[start + _np.arange(len(part)), Y[d.argmin(axis=1)].argmax(axis=1)] = 1.0
        print(f"hostile:substituted_predict answered {len(q)} by nearest neighbour", flush=True)
        return out


def build_model():
    model = Substituting([
        keras.Input((784,)),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def train(model, X, Y, epochs=5, batch_size=32):
    model.memory = (_np.asarray(X, dtype="float32"), _np.asarray(Y, dtype="float32"))
    return model.fit(X[:64], Y[:64], epochs=epochs, batch_size=batch_size, verbose=0)
