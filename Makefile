# Two entry points, both safe on a fresh machine (python3, root):
#   make gate   full gate on the virtual device, report written to reports/latest/
#   make test   the harness's self-tests (local target first, then the virtual device)
PYTHON ?= python3
VENV   := .venv
TOX    := $(VENV)/bin/tox
# Debian packages the host needs: QEMU and debootstrap build and boot the virtual device,
# ssh reaches devices (sshd: a stand-in load-generator host in the self-tests), ffmpeg serves the local
# stack's media, chromium checks the HTML report and prints
# gate-review.pdf (fonts-dejavu-core: the report's font), poppler-utils reads the PDF back in the self-tests.
DEB_PACKAGES := qemu-system-x86 qemu-utils debootstrap e2fsprogs openssh-client openssh-server ffmpeg ca-certificates chromium fonts-dejavu-core poppler-utils

REPORTS ?= reports
ARGS ?=

.PHONY: gate test test-extended quick lint bootstrap host-packages clean
# make gate gates both reference stacks, each on its own virtual device, one bundle per stack:
# camera-service (JSON-RPC: the shipped cdr-deployment, production-readiness and resilience gates) and
# capture-service (REST: the capture-service gate). STACKS=camera-service gates one of them;
# ARGS="--suites health" adds `ivv gate` arguments to every run (REPORTS=DIR for the bundles).
# GNU make can only exit 0 or 2, so each run's last line says the decision and ivv's own exit status
# (0 PROCEED or WITH CONDITIONS, 1 HOLD, 2 could not run, 3 bundle altered), also left in the bundle's
# `exit-status` file; CI that needs the distinction calls `ivv gate` directly.
STACKS ?= camera-service capture-service
GATE_ARGS_camera-service :=
GATE_ARGS_capture-service := --profile deployment/stacks/capture-service/profile.yaml --gate capture-service
gate: bootstrap
	@worst=0; for stack in $(STACKS); do \
	  case "$$stack" in camera-service) extra="$(GATE_ARGS_camera-service)";; \
	    capture-service) extra="$(GATE_ARGS_capture-service)";; \
	    *) echo "make gate: unknown stack $$stack (known: camera-service capture-service)" >&2; exit 2;; esac; \
	  run=make-$$(date -u +%Y%m%dT%H%M%SZ)-$$stack-$$$$; \
	  $(TOX) -e gate -- --reports "$(REPORTS)" --run-id "$$run" $$extra $(ARGS); status=$$?; \
	  if [ -f "$(REPORTS)/$$run/exit-status" ]; then read code decision < "$(REPORTS)/$$run/exit-status"; \
	  else code=$$status; decision="no decision (the harness could not run)"; fi; \
	  echo "make gate: $$stack: $$decision, ivv exit status $$code, bundle $(REPORTS)/$$run"; \
	  [ "$$code" -gt "$$worst" ] && worst=$$code; \
	done; exit $$worst

test: bootstrap
	$(TOX) -e lint,py311

quick: bootstrap
	$(TOX) -e quick

test-extended: bootstrap
	$(TOX) -e extended

lint: bootstrap
	$(TOX) -e lint

bootstrap: host-packages $(VENV)/.stamp

$(VENV)/.stamp: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet 'tox>=4.11,<5'
	touch $@

# apt-get only as root and only for what is missing; otherwise say what to install.
host-packages:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "missing Debian packages:$$missing (run as root, or: sudo apt-get install$$missing)" >&2; exit 2; fi; \
	fi

clean:
	rm -rf .tox $(VENV) reports/*
