"""What an operator runs against the deployed stack or the local account (`calltime unlock`)."""
