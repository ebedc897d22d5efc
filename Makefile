# Convenience wrappers around scripts/dev.sh (the README's two commands do not need make).
.PHONY: run test sanitize bench build fuzz
run test sanitize bench build:
	./scripts/dev.sh $@

# The README gallery (docs/img/): builds ptsim, runs the sweeps, draws the pictures.
.PHONY: plots
plots:
	./scripts/plots.sh

# Each libFuzzer target for FUZZ_SECONDS (docs/hardening.md); installs clang + libFuzzer.
FUZZ_SECONDS ?= 60
fuzz:
	./scripts/fuzz.sh $(FUZZ_SECONDS)
