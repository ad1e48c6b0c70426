"""The serving container's handler contract, run on an artifact by any Python with numpy: what
the scikit-learn serving image does with model.tar.gz, without the image. Imports nothing of
this repository (it runs in an environment that has only numpy and pytest, as the image has
only its own packages and the artifact's code/).

    python serving_contract.py <model.tar.gz> <requests.json>

requests.json: [{"body": ..., "content_type": ..., "accept": ...}, ...]. Prints JSON: the
Python and numpy it ran under, and each request's answer (output_fn's body) or the error a
handler raised.
"""

from __future__ import annotations

import importlib
import json
import platform
import sys
import tarfile
import tempfile
from pathlib import Path


def main(artifact: str, requests: str) -> int:
    import numpy

    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(artifact) as archive:
            archive.extractall(tmp, filter="data")
        sys.path.insert(0, str(Path(tmp) / "code"))  # SAGEMAKER_SUBMIT_DIRECTORY
        handlers = importlib.import_module("inference")  # SAGEMAKER_PROGRAM
        model = handlers.model_fn(tmp)
        answers = []
        for request in json.loads(Path(requests).read_text()):
            try:
                data = handlers.input_fn(request["body"], request["content_type"])
                answer = handlers.output_fn(handlers.predict_fn(data, model), request["accept"])
                body = answer[0] if isinstance(answer, tuple) else answer
                answers.append({"body": body if isinstance(body, str) else
                                body.decode() if isinstance(body, bytes) else repr(body)})
            except Exception as err:  # the container answers 500 for what a handler raises
                answers.append({"raised": f"{type(err).__name__}: {err}"})
        loaded_from = handlers.__file__.startswith(tmp)
    print(json.dumps({"python": platform.python_version(), "numpy": numpy.__version__,
                      "handlers_from_artifact": loaded_from, "answers": answers}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
