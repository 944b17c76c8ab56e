"""The LSTM scorer in TensorFlow/Keras: build, train, save weights, load, predict.

The only module of `shared.ml` that imports TensorFlow; import it lazily from code that
must stay light (the signal function talks to the predictor service instead).
Weights are stored as a plain `weights.npz` beside the artifact metadata and the network is
rebuilt from the metadata's model spec, so an artifact trained with one TF/Keras release
loads under another (the GPU image pins its own TF build).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

from shared.ml.artifact import WEIGHTS_FILE, ArtifactMeta, read_metadata
from shared.ml.config import ModelSpec
from shared.ml.dataset import Normaliser


def framework_version() -> str:
    return f"tensorflow {tf.__version__}, keras {keras.__version__}"


def device_kind() -> str:
    """'GPU' when TensorFlow sees a GPU, else 'CPU'."""
    return "GPU" if tf.config.list_physical_devices("GPU") else "CPU"


def set_seed(seed: int) -> None:
    keras.utils.set_random_seed(seed)


def build_model(window: int, n_features: int, spec: ModelSpec) -> keras.Model:
    """LSTM(units) → dropout → sigmoid: the probability that the target event happens."""
    inputs = keras.Input(shape=(window, n_features), name="features")
    x = keras.layers.LSTM(spec.units, name="lstm")(inputs)
    if spec.dropout:
        x = keras.layers.Dropout(spec.dropout, name="dropout")(x)
    out = keras.layers.Dense(1, activation="sigmoid", name="probability")(x)
    model = keras.Model(inputs, out, name="tradewinds_lstm")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=spec.learning_rate),
        loss="binary_crossentropy",
    )
    return model


class EpochCallback(keras.callbacks.Callback):
    """Calls `on_epoch(epoch_number, logs)` after each epoch (e.g. to move a progress bar)."""

    def __init__(self, on_epoch: Callable[[int, dict], None]):
        super().__init__()
        self._on_epoch = on_epoch

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._on_epoch(epoch + 1, dict(logs or {}))


def train(
    model: keras.Model,
    x_train: np.ndarray, y_train: np.ndarray,
    x_val: np.ndarray, y_val: np.ndarray,
    spec: ModelSpec,
    on_epoch: Callable[[int, dict], None] | None = None,
) -> dict:
    """Fit with early stopping on validation loss (best weights restored); returns a summary."""
    stop = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=spec.patience, restore_best_weights=True
    )
    callbacks: list[keras.callbacks.Callback] = [stop]
    if on_epoch:
        callbacks.append(EpochCallback(on_epoch))
    history = model.fit(
        x_train.astype(np.float32), y_train.astype(np.float32),
        validation_data=(x_val.astype(np.float32), y_val.astype(np.float32)),
        epochs=spec.max_epochs, batch_size=spec.batch_size, shuffle=True,
        callbacks=callbacks, verbose=0,
    )
    val_loss = [float(v) for v in history.history["val_loss"]]
    return {
        "epochs_run": len(val_loss),
        "best_epoch": int(np.argmin(val_loss)) + 1,
        "best_val_loss": min(val_loss),
        "loss": [float(v) for v in history.history["loss"]],
        "val_loss": val_loss,
    }


class Scorer:
    """A loaded network behind one traced function, so any batch size reuses one graph."""

    def __init__(self, model: keras.Model):
        self.model = model
        _, window, n_features = model.input_shape
        self.window, self.n_features = int(window), int(n_features)
        self._fn = tf.function(
            lambda x: model(x, training=False),
            input_signature=[tf.TensorSpec([None, self.window, self.n_features], tf.float32)],
        )

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Probabilities [n] for normalised windows [n, window, n_features]."""
        if len(x) == 0:
            return np.empty(0, dtype=np.float32)
        out = self._fn(tf.convert_to_tensor(np.asarray(x, dtype=np.float32)))
        return out.numpy().reshape(-1)

    def warm_up(self, batch_sizes: tuple[int, ...] = (1, 64)) -> None:
        for n in batch_sizes:
            self.predict(np.zeros((n, self.window, self.n_features), dtype=np.float32))


def save_weights(model: keras.Model, directory: str | Path) -> Path:
    path = Path(directory) / WEIGHTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, *model.get_weights())
    return path


def load_scorer(directory: str | Path, window: int, n_features: int, spec: ModelSpec) -> Scorer:
    """Rebuild the network from its spec and load `weights.npz` from `directory`."""
    model = build_model(window, n_features, spec)
    with np.load(Path(directory) / WEIGHTS_FILE) as f:
        weights = [f[f"arr_{i}"] for i in range(len(f.files))]
    model.set_weights(weights)
    return Scorer(model)


class LoadedArtifact:
    """A saved artifact ready to score raw feature windows (normalised with its own stats)."""

    def __init__(self, directory: str | Path):
        self.meta: ArtifactMeta = read_metadata(directory)
        self.normaliser = Normaliser.from_dict(self.meta.normalisation)
        self.scorer = load_scorer(directory, self.meta.window, self.meta.n_features, self.meta.model)

    @property
    def version(self) -> str:
        return self.meta.version

    def predict(self, raw_windows: np.ndarray) -> np.ndarray:
        """Probabilities [n] for raw windows [n, window, n_features] from shared.ml.features."""
        return self.scorer.predict(self.normaliser.apply(np.asarray(raw_windows, np.float64)))
