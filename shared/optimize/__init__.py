"""Parameter search: walk-forward windows, objectives and guards, grid/random/Bayesian
search in bounded parallel, and the time budget of one optimizer job."""
