# Convenience wrappers around scripts/dev.sh (the README's two commands do not need make).
.PHONY: run test bench build
run test bench build:
	./scripts/dev.sh $@
