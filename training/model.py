"""Fit the answer-probability model and export it to the serving format (`inference_code.forest`).

The estimator is scikit-learn's HistGradientBoostingClassifier: chosen by measurement against
logistic regression and the seed's RandomForest (see `benchmarks/` and docs/model.md); it handles
the NaN of "never answered yet" natively and exports to a few hundred KB of node arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier

from inference_code.forest import Forest


@dataclass(frozen=True)
class ModelSettings:
    max_iter: int = 300
    learning_rate: float = 0.05
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 100
    l2_regularization: float = 1.0
    max_fit_rows: int = 1_500_000  # rows above this are subsampled (uniformly, seeded)
    random_state: int = 0


def fit(X: np.ndarray, y: np.ndarray, settings: ModelSettings) -> HistGradientBoostingClassifier:
    rng = np.random.default_rng(settings.random_state)
    if len(y) > settings.max_fit_rows:
        keep = np.sort(rng.choice(len(y), settings.max_fit_rows, replace=False))
        X, y = X[keep], y[keep]
    estimator = HistGradientBoostingClassifier(
        max_iter=settings.max_iter,
        learning_rate=settings.learning_rate,
        max_leaf_nodes=settings.max_leaf_nodes,
        min_samples_leaf=settings.min_samples_leaf,
        l2_regularization=settings.l2_regularization,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=15,
        random_state=settings.random_state,
    )
    return estimator.fit(X, y)


def export(estimator: HistGradientBoostingClassifier) -> Forest:
    """Flatten the fitted trees into one node table (leaves loop on themselves)."""
    predictors = [trees[0] for trees in estimator._predictors]  # binary: one tree per iteration
    features, thresholds, missing, lefts, rights, values, roots = [], [], [], [], [], [], []
    offset, depth = 0, 0
    for tree in predictors:
        nodes = tree.nodes
        if np.any(nodes["is_categorical"]):
            raise ValueError("categorical splits are not supported by the serving forest")
        count = len(nodes)
        index = np.arange(count) + offset
        leaf = nodes["is_leaf"].astype(bool)
        features.append(np.where(leaf, 0, nodes["feature_idx"]).astype(np.int32))
        thresholds.append(nodes["num_threshold"].astype(np.float64))
        missing.append(nodes["missing_go_to_left"].astype(bool))
        lefts.append(np.where(leaf, index, nodes["left"].astype(np.int64) + offset))
        rights.append(np.where(leaf, index, nodes["right"].astype(np.int64) + offset))
        values.append(np.where(leaf, nodes["value"], 0.0))
        roots.append(offset)
        depth = max(depth, int(nodes["depth"].max()))
        offset += count
    return Forest(
        feature=np.concatenate(features),
        threshold=np.concatenate(thresholds),
        missing_left=np.concatenate(missing),
        left=np.concatenate(lefts).astype(np.int32),
        right=np.concatenate(rights).astype(np.int32),
        value=np.concatenate(values),
        roots=np.array(roots, dtype=np.int32),
        baseline=float(np.ravel(estimator._baseline_prediction)[0]),
        depth=depth,
        n_features=int(estimator.n_features_in_),
    )


def seed_random_forest(random_state: int = 0) -> RandomForestClassifier:
    """The seed's approach: RandomForestClassifier() defaults (a seed is set for repeatability)."""
    return RandomForestClassifier(random_state=random_state, n_jobs=-1)
