"""The model.tar.gz layout, written by training and read by the endpoint: one name for each file.

    model.tar.gz
      model.npz                 the forest's arrays (ENTRY_POINT's model_fn loads them)
      metadata.json             version, sha256 of model.npz, feature names and parameters
      code/inference.py         the four container handlers (SAGEMAKER_PROGRAM)
      code/inference_code/      this package: the modules the handlers import
      code/tzdata/              the IANA zone database
"""

from __future__ import annotations

ARTIFACT_FILE = "model.tar.gz"
MODEL_FILE = "model.npz"
METADATA_FILE = "metadata.json"
CODE_DIR = "code"  # SAGEMAKER_SUBMIT_DIRECTORY inside the extracted model directory
ENTRY_POINT = "inference.py"  # SAGEMAKER_PROGRAM: the handlers, at the top of code/
