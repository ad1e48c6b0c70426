"""calltime training: the call-log contract, dataset, model, evaluation, report and artifact. The
features, the forest and the ranking it trains and evaluates with live in `inference_code`."""
