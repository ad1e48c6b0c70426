"""calltime training: the call-log contract, features, model, evaluation, report and artifact."""
