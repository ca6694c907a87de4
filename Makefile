# Every target sets itself up: a fresh machine needs only python3.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test check-types lint bench clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]' \
		--config-settings editable_mode=compat  # a plain path entry, so twistd finds twisted/plugins
	touch $(STAMP)

## run: a local privnet on loopback (bundled protocol.json): four validators (the first gets a
## generated chain, the others sync it) make a block every 15 s by dBFT; a late relay finds them
## by getaddr and catches up; a demo transaction goes in by RPC and lands in a block; a table of
## heights, peers and pools until Ctrl-C (data kept in run/, a second run resumes)
run: $(STAMP)
	$(VENV)/bin/neonode localnet --dir run

## test: the trial suite, then mypy --strict and ruff; non-zero on any failure
test: $(STAMP)
	PYTHONPATH=$(CURDIR) $(VENV)/bin/trial --jobs=2 tests
	$(MAKE) --no-print-directory check-types lint

check-types: $(STAMP)
	$(VENV)/bin/mypy --strict neo_twisted

lint: $(STAMP)
	$(VENV)/bin/ruff check neo_twisted tests bench

## bench: decode/hash throughput, chain import speed and memory, two-node sync speed, RPC ingest
## 500 idle peers (memory per peer, relay latency), witness checks by thread and by process, and
## a node's memory syncing 200,000 blocks against 20,000, written to BENCHMARKS.md
## (each script rewrites its own section; --quick is a short smoke run)
bench: $(STAMP)
	$(PY) bench/bench_decode.py --write
	$(PY) bench/bench_import.py --write
	$(PY) bench/bench_sync.py --write
	$(PY) bench/bench_mempool.py --write
	$(PY) bench/bench_peers.py --write
	$(PY) bench/bench_verify.py --write
	$(PY) bench/bench_memory.py --write

clean:
	rm -rf $(VENV) _trial_temp* .mypy_cache .ruff_cache .hypothesis *.egg-info
