# The verbs a person types. Every target sets up .venv first (idempotent).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
OUT ?= results

.PHONY: setup demo test test-slow bench lint docs clean

# libusb-1.0 is a system library open3d needs; a fresh machine lacks it. So is chromium.
$(STAMP): pyproject.toml
	@if ! ldconfig -p 2>/dev/null | grep -q 'libusb-1.0.so.0'; then \
		echo "installing system library libusb-1.0 (needed by open3d)"; \
		(apt-get update -qq && apt-get install -y -qq libusb-1.0-0) >/dev/null || \
		{ echo "could not install libusb-1.0-0; run: apt-get install -y libusb-1.0-0"; exit 1; }; \
	fi
	@# Debian's chromium: the browser of the web app's end-to-end tests and demo screenshots
	@# (Playwright drives it; it never downloads a browser of its own).
	@if ! test -x /usr/bin/chromium; then \
		echo "installing the system browser chromium (for the web app's tests)"; \
		(apt-get update -qq && apt-get install -y -qq chromium) >/dev/null || \
		{ echo "could not install chromium; run: apt-get install -y chromium"; exit 1; }; \
	fi
	@# napari's canvas needs OpenGL and an X display: the tests run under Xvfb with Mesa, and
	@# Qt's xcb platform needs these libraries (under QT_QPA_PLATFORM=offscreen vispy fails).
	@if ! command -v xvfb-run >/dev/null || ! ldconfig -p | grep -q 'libxkbcommon-x11.so.0'; then \
		echo "installing Xvfb, Mesa and Qt's xcb libraries (for the napari plugin's tests)"; \
		(apt-get update -qq && apt-get install -y -qq xvfb xauth libgl1-mesa-dri libegl1 \
			libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 \
			libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxcb-cursor0 \
			libdbus-1-3 libfontconfig1) >/dev/null || \
		{ echo "could not install xvfb and Qt's libraries; napari's viewer tests will skip"; }; \
	fi
	@test -x $(PY) || python3 -m venv $(VENV)
	# torch from the CPU wheel on disk, in the same pip call as the rest.
	$(PY) -m pip install -q --disable-pip-version-check 'torch==2.13.0' -e '.[dev,docs,napari]'
	@touch $(STAMP)

setup: $(STAMP)

# Under Xvfb when it is there: napari's viewer tests and the demo's napari screenshots need a
# display (without one they skip). Looked up when the recipe runs, after the set-up.
XVFB := $$(command -v xvfb-run >/dev/null && echo xvfb-run -a)

demo: $(STAMP)
	$(XVFB) $(VENV)/bin/mitoshape demo -o $(OUT)

test: $(STAMP)
	$(XVFB) $(PY) -m pytest -q

test-slow: $(STAMP)
	$(XVFB) $(PY) -m pytest -q -m slow

bench: $(STAMP)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

lint: $(STAMP)
	$(VENV)/bin/ruff check shapelib simulator segtrain webapp cli napari_mitoshape tests benchmarks docs
	$(VENV)/bin/ruff format --check shapelib simulator segtrain webapp cli napari_mitoshape tests benchmarks docs
	# types of the public API ([tool.mypy] in pyproject.toml; tests/test_typing.py keeps it annotated)
	$(VENV)/bin/mypy

# The documentation site (mkdocs.yml): strict, so a broken link or an unreadable docstring fails.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache site
