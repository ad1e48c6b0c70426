"""The SageMaker scikit-learn container handlers, shipped as code/inference.py in model.tar.gz."""
