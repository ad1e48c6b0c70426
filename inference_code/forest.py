"""A gradient-boosted forest as plain arrays: saved with numpy, loaded without executing code.

The trained scikit-learn HistGradientBoostingClassifier is exported (`training.model.export`) into
flat node arrays. This module predicts from them with vectorized numpy, so the endpoint needs no
pickle (nothing in the artifact runs on load) and no scikit-learn at serving time. Its predictions
equal scikit-learn's `predict_proba` (tests/inference_code/test_forest.py).

Imports only numpy: it is shipped to the serving container.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

ARRAYS = ("feature", "threshold", "missing_left", "left", "right", "value", "roots")


@dataclass(frozen=True)
class Forest:
    feature: np.ndarray  # (nodes,) int32; leaves point at feature 0, unused
    threshold: np.ndarray  # (nodes,) float64; go left when x <= threshold
    missing_left: np.ndarray  # (nodes,) bool; where NaN goes
    left: np.ndarray  # (nodes,) int32; a leaf points at itself
    right: np.ndarray  # (nodes,) int32
    value: np.ndarray  # (nodes,) float64; leaf raw values, 0 elsewhere
    roots: np.ndarray  # (trees,) int32
    baseline: float
    depth: int
    n_features: int

    def raw(self, X: np.ndarray) -> np.ndarray:
        """Sum of leaf values over trees plus the baseline (log-odds), shape (N,)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"expected a (rows, {self.n_features}) matrix, got {X.shape}")
        rows = np.arange(X.shape[0])[:, None]
        node = np.broadcast_to(self.roots, (X.shape[0], len(self.roots)))
        for _ in range(self.depth):
            x = X[rows, self.feature[node]]
            go_left = np.where(np.isnan(x), self.missing_left[node], x <= self.threshold[node])
            node = np.where(go_left, self.left[node], self.right[node])
        return self.value[node].sum(axis=1) + self.baseline

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Probability of the positive class (an answer), shape (N,)."""
        return 1.0 / (1.0 + np.exp(-self.raw(X)))

    def save(self, path: Path) -> None:
        arrays = {name: getattr(self, name) for name in ARRAYS}
        header = np.array([self.baseline, self.depth, self.n_features], dtype=np.float64)
        np.savez_compressed(path, header=header, **arrays)

    @classmethod
    def load(cls, path: Path) -> Forest:
        # allow_pickle=False: loading can only ever produce plain arrays.
        with np.load(path, allow_pickle=False) as data:
            missing = [name for name in (*ARRAYS, "header") if name not in data.files]
            if missing:
                raise ValueError(f"{path} is not a calltime forest: missing {missing}")
            header = data["header"]
            return cls(**{name: data[name] for name in ARRAYS}, baseline=float(header[0]),
                       depth=int(header[1]), n_features=int(header[2]))
