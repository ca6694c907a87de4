# Every target sets itself up: a fresh machine needs only python3.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test test-unit test-integration check-types lint bench fuzz soak check-min-deps clean

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

## test: the trial suite (tests/unit and tests/integration), then mypy --strict over the
## package and mypy over the tests, and ruff; non-zero on any failure
test: $(STAMP)
	PYTHONPATH=$(CURDIR) $(VENV)/bin/trial --jobs=2 tests
	$(MAKE) --no-print-directory check-types lint

## test-unit: the unit tests alone (in the test process, on fakes, clocks and temporary
## stores: no real node, no twistd or neonode process)
test-unit: $(STAMP)
	PYTHONPATH=$(CURDIR) $(VENV)/bin/trial --jobs=2 tests.unit

## test-integration: the integration tests alone (real nodes over loopback, twistd and
## neonode processes, verifier processes, crashes, packaging)
test-integration: $(STAMP)
	PYTHONPATH=$(CURDIR) $(VENV)/bin/trial --jobs=2 tests.integration

# the tests' settings are pyproject.toml's override for tests.*
check-types: $(STAMP)
	$(VENV)/bin/mypy --strict neo_twisted
	$(VENV)/bin/mypy tests

lint: $(STAMP)
	$(VENV)/bin/ruff check neo_twisted tests bench fuzz

## bench: decode/hash throughput, chain import speed and memory, two-node sync speed, a
## mainnet-shaped sync of up to 1,000,000 blocks (fully verified and assume-valid), RPC ingest
## 500 idle peers (memory per peer, relay latency), witness checks by thread and by process,
## a node's memory syncing 200,000 blocks against 20,000, and the address book's cost of an
## addr of 200 when full, written to BENCHMARKS.md
## (each script rewrites its own section; --quick is a short smoke run)
bench: $(STAMP)
	$(PY) bench/bench_decode.py --write
	$(PY) bench/bench_import.py --write
	$(PY) bench/bench_sync.py --write
	$(PY) bench/bench_mainnet.py --write
	$(PY) bench/bench_mempool.py --write
	$(PY) bench/bench_peers.py --write
	$(PY) bench/bench_verify.py --write
	$(PY) bench/bench_memory.py --write
	$(PY) bench/bench_addresses.py --write
	$(PY) bench/bench_vm.py --write

FUZZ_SECONDS ?= 60
FUZZ_ARGS ?=

## fuzz: every fuzz target (a whole peer connection, the frame decoder, each payload
## reader, every transaction type, blocks, headers and consensus messages, the RPC server,
## neonode decode, protocol.json, peers.dat, addresses and keys) for FUZZ_SECONDS each
## (default 60) under atheris (the fuzz extra), or hypothesis where atheris does not
## install; crashing inputs go to fuzz/crashes/TARGET/; non-zero on any crash
## (FUZZ_ARGS='payload.* --jobs 2': see python -m fuzz.run --help)
fuzz: $(STAMP)
	$(PY) -c 'import atheris' 2>/dev/null || $(PY) -m pip install --quiet \
		--disable-pip-version-check -e '.[dev,fuzz]' --config-settings editable_mode=compat \
		|| echo "atheris did not install: fuzzing with hypothesis"
	PYTHONPATH=$(CURDIR) $(PY) -m fuzz.run --seconds $(FUZZ_SECONDS) $(FUZZ_ARGS)

SOAK_SECONDS ?= 600

## soak: the long forms of the hardening tests: 20 nodes churning for SOAK_SECONDS (default
## 600), SIGKILL of a syncing node up to 25 times and of one with a busy pool 15 times, an
## import killed 20 times on a 5,000-block chain, and 20 rounds of 200 RPC clients
soak: $(STAMP)
	NEO_SOAK=1 NEO_SOAK_SECONDS=$(SOAK_SECONDS) NEO_RPC_LOAD_SCALE=20 PYTHONPATH=$(CURDIR) \
		$(VENV)/bin/trial tests.integration.test_soak_network tests.integration.test_node_crash \
		tests.integration.test_ledger_crash tests.integration.test_rpc_load

MIN_VENV := .venv-min
MIN_PY := $(MIN_VENV)/bin/python
# The parts of the suite that use each dependency (attrs, Twisted and zope.interface all over,
# automat in the handshake, cryptography in keys and consensus, pyOpenSSL and service-identity
# in RPC over TLS, lmdb in the ledger and backups, prometheus-client in metrics), but the
# long crash and load runs
MIN_DEPS_TESTS := tests.unit.test_min_deps tests.unit.test_import_graph $(subst /,.,$(patsubst %.py,%,\
	$(filter-out %_crash.py %_load.py,$(wildcard $(patsubst %,tests/*/test_%*.py,crypto wire \
	core network ledger p2p consensus rpc mempool sync metrics vectors node_tap node_twistd \
	node_storage cli_backup cli_status)))))

## check-min-deps: a fresh .venv-min with exactly the lowest versions setup.cfg allows
## (pinned in packaging/min-constraints.txt) and the project over them (--no-deps); then
## pip check, an import of every module, twistd neonode --help and the tests that use each
## dependency (about 1,300, a few minutes); non-zero on any failure
check-min-deps:
	rm -rf $(MIN_VENV)
	python3 -m venv $(MIN_VENV)
	$(MIN_PY) -m pip install --quiet --disable-pip-version-check \
		-r packaging/min-constraints.txt hypothesis
	$(MIN_PY) -m pip install --quiet --disable-pip-version-check --no-deps -e . \
		--config-settings editable_mode=compat
	$(MIN_PY) -m pip check
	$(MIN_PY) -c 'import importlib, pkgutil, neo_twisted, twisted.plugins.neonode_plugin; \
		names = [m.name for m in pkgutil.walk_packages(neo_twisted.__path__, "neo_twisted.")]; \
		[importlib.import_module(n) for n in names if not n.endswith("__main__")]; \
		print(len(names), "modules imported")'
	$(MIN_VENV)/bin/twistd neonode --help > /dev/null
	NEO_MIN_DEPS=1 PYTHONPATH=$(CURDIR) $(MIN_VENV)/bin/trial --temp-directory=_trial_temp.min \
		$(MIN_DEPS_TESTS)

clean:
	rm -rf $(VENV) .venv-min _trial_temp* .mypy_cache .ruff_cache .hypothesis *.egg-info
