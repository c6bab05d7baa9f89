# The gesture stack's everyday commands. `make help` lists them.
PY := .venv/bin/python

.PHONY: help setup demo test test-fast colcon bench clean

help:
	@echo "make setup   - create .venv, install everything (idempotent)"
	@echo "make demo    - setup, then the simulated robot says a sentence and gestures (outputs in out/demo)"
	@echo "make test    - setup, then the whole test suite (tests/unit, tests/ros, tests/e2e)"
	@echo "make test-fast - setup, then the in-process tests only (tests/unit)"
	@echo "make colcon  - colcon build of ros2_ws into ros2_ws/install"
	@echo "make bench   - the benchmark scripts (tables on stdout)"

setup:
	@bash scripts/setup.sh

demo: setup
	$(PY) -m gesture_bringup.cli --input tts --output out/demo

test: setup
	$(PY) -m pytest -ra tests

test-fast: setup
	$(PY) -m pytest -ra tests/unit

colcon: setup
	bash scripts/colcon_build.sh

bench: setup
	@for b in benchmarks/[!_]*.py; do [ $$b = benchmarks/soak.py ] || $(PY) $$b || exit 1; done  # soak: 10+ min, by hand

clean:
	rm -rf out ros2_ws/build ros2_ws/install ros2_ws/log
