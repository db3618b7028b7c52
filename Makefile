# Bridle's entry points. Other tools call `make demo` and `make test`: keep these names.
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)
CARGO ?= cargo

.PHONY: demo test setup lint unit wasm bench fuzz clean

## demo: the main job (see README)
demo: setup
	@bash scripts/demo.sh

## test: every test: formatting, lints, unit/golden/integration tests, the wasm32 build, and
## the extension in headless Chromium
test: setup lint unit wasm web-test

setup:
	@bash .ci/setup

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --quiet -- -D warnings

unit:
	$(CARGO) test --workspace

# The language and the PEP must build for the browser: they run in the extension's wasm.
wasm:
	scripts/cargo-wasm --quiet -p bridle-dsl -p bridle-executor

## bench: the benchmarks of bench/ (ratios against baselines in the same process)
bench:
	$(CARGO) run --release -q -p bridle-bench -- all

## fuzz: FUZZ_SECONDS per target with cargo-fuzz on nightly
FUZZ_SECONDS ?= 60
fuzz:
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

clean:
	$(CARGO) clean

## dist: the browser extension, loadable unpacked from dist/chrome/ (scripts/build-extension.sh)
.PHONY: dist web-test
dist: setup
	bash scripts/build-extension.sh

## web-test: the built extension in headless Chromium (web-tests/, playwright-core)
web-test: dist
	cd web-tests && npm test
