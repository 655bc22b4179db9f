# auditfleet.auditd: test and lint entry points. CI runs `make test` (through .ci/run).
#
#   make venv          Debian packages, auditd running, one virtualenv per ansible-core toolchain
#   make lint          ruff, changelog and plugin-doc lint, ansible-lint (production profile)
#   make sanity        ansible-test sanity
#   make unit          pytest tests/unit
#   make integration   tests/integration/targets (tests/integration/run.sh; docs/testing.md)
#   make test          all of the above for every toolchain, then a PASS/FAIL/NOT RUN summary
#   make clean         remove build trees and caches (make distclean: the toolchains too)
#   make demo          the main job on localhost (KEEP=1 keeps the rule set); see README.md
#   make bench         parser benchmark (LOG=/path/audit.log for an existing log); bench-facts, bench-eda
#   make bench-report  the fleet report for 1000 hosts x 100 kills through the kill_report playbook
#   make test-fleet    the fleet scenarios on 4 qemu VMs of a mixed fleet (tests/fleet/README.md);
#                      make test-fleet-all every image and Molecule; make bench-fleet the fleet benchmark
#   make build         the collection tarball in build/dist (from the files git knows)
#   make release-check tests/release: tarball, galaxy-importer, ansible-builder, ansible-runner, docs site
#   make galaxy-importer, make docsite (build/docsite), make docsite-rst (docs/*.md -> docs/docsite/rst)
#
# Toolchains: ANSIBLE_VERSIONS (default 2.16 2.21), e.g. `make unit ANSIBLE_VERSIONS=2.21`.
# Per-toolchain targets run one step without the summary: ansible-lint-X.Y, sanity-X.Y, unit-X.Y,
# integration-X.Y; extra arguments through ARGS, e.g. `make sanity-2.16 ARGS='--test pep8'`.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

ANSIBLE_VERSIONS ?= 2.16 2.21
VENV := $(CURDIR)/.venv
STAGE := tools/stage.sh
ARGS ?=
# Stage results of this make run (several people may run make in this tree at once).
export STAGE_RESULTS ?= $(CURDIR)/build/stages.$(shell echo $$PPID).tsv
# Tool caches stay inside the checkout (ignored by git) instead of the home directory.
export HYPOTHESIS_STORAGE_DIRECTORY := $(CURDIR)/.cache/hypothesis
export RUFF_CACHE_DIR := $(CURDIR)/.cache/ruff

# Run one toolchain's command with its bin/ first in PATH (ansible-lint warns otherwise).
in_venv = PATH="$(VENV)/ansible-$(1)/bin:$$PATH"
# tests/lib/env.sh: the test bootstrap for shell (the collection link and ANSIBLE_COLLECTIONS_PATH,
# the target interpreter, the machine-wide audit test lock); tests/lib/env.py in Python.
ENV_SH := source tests/lib/env.sh

.PHONY: help venv lint sanity unit integration test clean distclean lint-static
.PHONY: demo bench bench-facts bench-eda bench-report test-fleet test-fleet-all bench-fleet
.PHONY: venv-release build release-check galaxy-importer docsite docsite-rst
.PHONY: $(foreach v,$(ANSIBLE_VERSIONS),ansible-lint-$(v) sanity-$(v) unit-$(v) integration-$(v))

help:
	@sed -n '2,20s/^# \{0,1\}//p' $(firstword $(MAKEFILE_LIST))

venv:
	tools/testenv.sh $(ANSIBLE_VERSIONS)

# ---- one stage each, recorded by tools/stage.sh ------------------------------------------------

# ruff, antsibull-changelog lint and antsibull-docs plugin-doc lint: one run is enough; they use
# the newest toolchain that could be built (ansible-doc of that ansible-core reads the docs).
lint-static:
	@v=""; for c in $(ANSIBLE_VERSIONS); do [[ -x "$(VENV)/ansible-$$c/bin/ruff" ]] && v=$$c; done; \
	 [[ -n "$$v" ]] || { echo "no toolchain in $(VENV): run make venv"; exit 1; }; \
	 echo "ruff, antsibull-changelog and antsibull-docs from .venv/ansible-$$v"; \
	 export PATH="$(VENV)/ansible-$$v/bin:$$PATH"; \
	 failed=(); \
	 ruff --version; ruff check --output-format concise . || failed+=(ruff); \
	 antsibull-changelog lint || failed+=(antsibull-changelog); \
	 antsibull-docs lint-collection-docs --plugin-docs . || failed+=(antsibull-docs); \
	 (( $${#failed[@]} == 0 )) || { echo "lint failed: $${failed[*]}"; exit 1; }

# The collection link lets ansible-lint and ansible-doc resolve auditfleet.auditd.* names; build/
# is in .ansible-lint's exclude_paths, so the link does not make ansible-lint loop.
$(addprefix ansible-lint-,$(ANSIBLE_VERSIONS)): ansible-lint-%:
	$(call in_venv,$*) ansible-lint --nocolor --version
	$(ENV_SH) && $(call in_venv,$*) ANSIBLE_COLLECTIONS_PATH="$$AF_COLLECTIONS" ansible-lint --nocolor --profile production $(ARGS)

$(addprefix sanity-,$(ANSIBLE_VERSIONS)): sanity-%:
	tools/ansible_test_sanity.sh $* $(ARGS)

# (Static pattern rules: make applies no pattern rule to a .PHONY target.)
# pytest exits 5 when it collects nothing; that is only accepted while tests/unit has no test files.
$(addprefix unit-,$(ANSIBLE_VERSIONS)): unit-%:
	@if [[ -z "$$(find tests/unit -name 'test_*.py' -print -quit)" ]]; then \
	   echo "unit (ansible-core $*): no test files in tests/unit yet: nothing to run"; \
	 else \
	   $(call in_venv,$*) python -m pytest -p no:cacheprovider --rootdir "$(CURDIR)" -ra tests/unit $(ARGS); \
	 fi

$(addprefix integration-,$(ANSIBLE_VERSIONS)): integration-%:
	tests/integration/run.sh $* $(ARGS)

# ---- aggregate targets: every stage runs, then the summary decides ----------------------------

lint: venv
	@$(STAGE) --reset
	@$(STAGE) "lint (ruff, docs, changelog)" - -- $(MAKE) lint-static
	@for v in $(ANSIBLE_VERSIONS); do $(STAGE) "ansible-lint $$v" $$v -- $(MAKE) ansible-lint-$$v; done
	@$(STAGE) --summary

sanity unit integration: venv
	@$(STAGE) --reset
	@for v in $(ANSIBLE_VERSIONS); do $(STAGE) "$@ $$v" $$v -- $(MAKE) $@-$$v; done
	@$(STAGE) --summary

test:
	@$(STAGE) --reset
	@$(STAGE) "venv" - -- $(MAKE) venv
	@$(STAGE) "lint (ruff, docs, changelog)" - -- $(MAKE) lint-static
	@for v in $(ANSIBLE_VERSIONS); do $(STAGE) "ansible-lint $$v" $$v -- $(MAKE) ansible-lint-$$v; done
	@for v in $(ANSIBLE_VERSIONS); do $(STAGE) "sanity $$v" $$v -- $(MAKE) sanity-$$v; done
	@for v in $(ANSIBLE_VERSIONS); do $(STAGE) "unit $$v" $$v -- $(MAKE) unit-$$v; done
	@for v in $(ANSIBLE_VERSIONS); do $(STAGE) "integration $$v" $$v -- $(MAKE) integration-$$v; done
	@$(STAGE) "release checks" - -- $(MAKE) release-check
	@$(STAGE) --summary

# ---- release: the tarball and what takes it further (tools of .venv/release) -----------------

# The release toolchain: galaxy-importer, ansible-builder, ansible-runner, antsibull-docs and
# Sphinx, pinned in tests/requirements/release.txt (and Debian's pandoc for docsite-rst).
REL_BIN := $(VENV)/release/bin
DIST := $(CURDIR)/build/dist
venv-release:
	tools/testenv.sh release

# From the files git knows (tracked, or new and not ignored), as a clean clone would build it;
# galaxy.yml's build_ignore leaves the development files out.
build: venv-release
	rm -rf build/src $(DIST)
	mkdir -p build/src $(DIST)
	git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do \
	   if [[ -f "$$f" ]]; then printf '%s\0' "$$f"; fi; done | tar --null -T - -cf - | tar -C build/src -xf -
	$(REL_BIN)/ansible-galaxy collection build --force --output-path $(DIST) build/src
	@tar -tzf $(DIST)/auditfleet-auditd-*.tar.gz | grep -vc '/$$' | xargs printf '%s files in the tarball\n'

# Automation Hub's import checks on the tarball, offline (tests/release/galaxy-importer.cfg).
galaxy-importer: build
	cd build && GALAXY_IMPORTER_CONFIG=$(CURDIR)/tests/release/galaxy-importer.cfg PATH="$(REL_BIN):$$PATH" \
	  $(REL_BIN)/python -m galaxy_importer.main $(DIST)/auditfleet-auditd-*.tar.gz | tee galaxy-importer.log
	@! grep -E '^(WARNING|ERROR|CRITICAL)' build/galaxy-importer.log

docsite-rst:
	$(REL_BIN)/python tools/docsite.py rst

# The antsibull-docs site of the tarball, with sphinx-build -W, offline: build/docsite/site/build/html
docsite: build
	$(REL_BIN)/python tools/docsite.py build --tarball $$(ls $(DIST)/auditfleet-auditd-*.tar.gz) --dest build/docsite

# tests/release runs with the 2.16 toolchain's pytest and calls the release tools by path.
release-check: venv-release
	$(call in_venv,2.16) python -m pytest -p no:cacheprovider --rootdir "$(CURDIR)" -ra tests/release $(ARGS)

# ---- the demo, benchmarks and the fleet -----------------------------------------------------

# The README's main job: deploy the kill rule to localhost, kill a process as another user with
# a login uid, print the kill report. KEEP=1 keeps what it adds. tools/demo.sh installs what it
# needs itself (it reuses .venv/ansible-2.16 when make venv made it).
KEEP ?= 0
demo:
	KEEP="$(KEEP)" tools/demo.sh $(ARGS)

# Benchmarks print figures; they assert nothing. LOG=/path/audit.log benchmarks an existing log.
# They import the collection through tests/lib/env.py (which makes the link make clean removes).
BENCH_PY = $(VENV)/ansible-2.16/bin/python
LOG ?=
bench: venv
	$(BENCH_PY) bench/bench_parser.py $(if $(LOG),--log "$(LOG)") $(ARGS)

bench-facts: venv
	$(BENCH_PY) bench/bench_facts.py $(ARGS)

# The EDA event source: events/s it sustains on a growing log, latency from write to queue.
bench-eda: venv
	$(BENCH_PY) bench/bench_eda.py $(ARGS)

# The playbook on both toolchains (1000 hosts x 100 kills, and 100 hosts as the baseline).
bench-report: venv
	$(BENCH_PY) bench/bench_report.py $(ARGS)

# The fleet: qemu VMs with their own kernel, systemd and auditd (tests/fleet/README.md).
# test-fleet (CI, after `make test`): Debian 12 x86_64, Debian 13 x86_64 (audit 4), Debian 12
# arm64 and Debian 12 i386 (tests/fleet/images.sh FLEET_HOSTS_DEFAULT). test-fleet-all: every
# image of images.sh (FLEET_HOSTS_ALL) and the Molecule scenario. Both always tear the VMs down.
FLEET_ANSIBLE = ANSIBLE_BIN_DIR=$(VENV)/ansible-2.16/bin
test-fleet: venv
	@$(STAGE) --reset
	@$(STAGE) "fleet scenarios (mixed fleet)" 2.16 -- env $(FLEET_ANSIBLE) tests/fleet/run.sh $(ARGS)
	@$(STAGE) --summary

test-fleet-all: venv
	@$(STAGE) --reset
	@$(STAGE) "fleet scenarios (every image) and Molecule" 2.16 -- env $(FLEET_ANSIBLE) FLEET_MOLECULE=1 \
	  FLEET_PRESETS=all FLEET_SCENARIO_TIMEOUT=$${FLEET_SCENARIO_TIMEOUT:-3600} FLEET_HOSTS="$$(. tests/fleet/images.sh && echo $$FLEET_HOSTS_ALL)" tests/fleet/run.sh $(ARGS)
	@$(STAGE) --summary

bench-fleet: venv
	$(FLEET_ANSIBLE) $(BENCH_PY) bench/bench_fleet.py $(ARGS)

clean:
	rm -rf build .cache tests/output .hypothesis .pytest_cache .ruff_cache
	find . -path ./.venv -prune -o -path ./.git -prune -o -name __pycache__ -type d -print0 | xargs -0 rm -rf

distclean: clean
	rm -rf .venv
