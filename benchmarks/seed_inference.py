"""The seed's serving code, for side-by-side benchmarks only: a pickled RandomForest behind the
four handlers, the way the seed project served it (not shipped in calltime's artifacts)."""

import json
import os

import joblib
import numpy as np


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def input_fn(body, content_type):
    return np.array(json.loads(body)["features"], dtype=float)[:, :3]


def predict_fn(data, model):
    return model.predict_proba(data)[:, 1]


def output_fn(prediction, accept):
    return json.dumps({"predictions": prediction.tolist()}), "application/json"
