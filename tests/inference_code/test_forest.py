"""The exported forest predicts exactly what scikit-learn does, and loads without pickle."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from inference_code.forest import ARRAYS, Forest
from training import model


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(4000, 6))
    X[rng.random(X.shape) < 0.1] = np.nan  # missing values take learned directions
    logit = np.nan_to_num(X[:, 0]) * 1.5 - np.nan_to_num(X[:, 1] * X[:, 2]) + np.isnan(X[:, 3])
    y = (rng.random(4000) < 1 / (1 + np.exp(-logit))).astype(int)
    est = HistGradientBoostingClassifier(max_iter=60, random_state=0).fit(X, y)
    return est, X


def test_matches_sklearn_predict_proba(fitted) -> None:
    est, X = fitted
    forest = model.export(est)
    np.testing.assert_allclose(forest.predict_proba(X), est.predict_proba(X)[:, 1], atol=1e-12)
    assert len(forest.roots) == est.n_iter_


def test_round_trip_and_shape_check(fitted, tmp_path) -> None:
    est, X = fitted
    path = tmp_path / "model.npz"
    model.export(est).save(path)
    loaded = Forest.load(path)
    np.testing.assert_allclose(loaded.predict_proba(X), est.predict_proba(X)[:, 1], atol=1e-12)
    with pytest.raises(ValueError, match=r"expected a \(rows, 6\) matrix"):
        loaded.predict_proba(X[:, :5])


def test_load_refuses_other_npz_and_pickles(fitted, tmp_path) -> None:
    other = tmp_path / "other.npz"
    np.savez(other, weights=np.ones(3))
    with pytest.raises(ValueError, match="not a calltime forest"):
        Forest.load(other)
    pickled = tmp_path / "pickled.npz"
    forest = model.export(fitted[0])
    arrays = {name: getattr(forest, name) for name in ARRAYS}
    np.savez(pickled, header=np.array([{"x": 1}], dtype=object), **arrays)
    with pytest.raises(ValueError, match="allow_pickle"):
        Forest.load(pickled)
