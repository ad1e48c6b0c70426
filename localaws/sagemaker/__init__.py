"""The local SageMaker: the API (`api`), the model servers behind endpoints (`servers`), and
saving and restoring a local account (`snapshot`)."""
