# Convenience wrappers around scripts/dev.sh (the README's two commands do not need make).
.PHONY: run test bench build
run test bench build:
	./scripts/dev.sh $@

# The README gallery (docs/img/): builds ptsim, runs the sweeps, draws the pictures.
.PHONY: plots
plots:
	./scripts/plots.sh
