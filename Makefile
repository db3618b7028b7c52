# Bridle's entry points. Other tools call `make demo` and `make test`: keep these names.
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)
CARGO ?= cargo

.PHONY: demo demo-cli test setup lint unit wasm bench fuzz clean

## demo: the main job (see README): planner → extension in Chromium → demo shop, with approval.
## DEMO_FLAGS=--deny shows the denial path; --headless hides the window even with a display.
DEMO_FLAGS ?=
demo: setup
	@bash scripts/demo.sh $(DEMO_FLAGS)

## demo-cli: both sides of the trust boundary on the command line, no browser
demo-cli: setup
	@bash scripts/demo-cli.sh

## test: every test: formatting, lints, unit/golden/integration tests, the wasm32 build, and
## the extension in headless Chromium and Firefox ESR
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

## dist: the browser extension for Chrome and Firefox: dist/chrome/, dist/firefox/ (unpacked),
## dist/bridle-chrome.zip, dist/bridle-firefox.xpi (unsigned) (scripts/build-extension.sh)
.PHONY: dist web-test
dist: setup
	bash scripts/build-extension.sh

## web-test: the built extension in headless Chromium (web-tests/, playwright-core) and Firefox
## ESR (puppeteer-core, WebDriver BiDi), and web-ext lint of dist/firefox
web-test: dist
	cd web-tests && npm test

## web-bench: resolution against Testing Library, a step against Playwright's click, in Chromium
.PHONY: web-bench
web-bench: dist
	cd web-tests && npm run bench
