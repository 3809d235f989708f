# The two commands: `make run` (the portal on http://127.0.0.1:8000) and `make test` (the whole suite).
VENV      ?= .venv
PY        := $(VENV)/bin/python
MANAGE    := $(PY) manage.py
DEMO_PEOPLE ?= 300

.PHONY: run test test-sqlite test-postgres bench venv system-check migrate demo messages clean

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || "$$(scripts/find-python.sh)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@

venv: $(VENV)/.installed

system-check:
	@scripts/check-system.sh

# Translations: the compiled .mo files are committed, so a machine without gettext runs the portal too.
messages: venv
	$(MANAGE) makemessages -l en --ignore=.venv --ignore=staticfiles -v 0
	$(MANAGE) compilemessages --ignore=.venv -v 0

migrate: venv
	$(MANAGE) migrate --noinput -v 0

demo: migrate
	$(MANAGE) loaddata kaifeng_2016 -v 0
	$(MANAGE) seed_demo --people $(DEMO_PEOPLE) --year 2016
	$(MANAGE) create_demo_users
	$(MANAGE) run_audit --year 2016 >/dev/null

run: system-check demo
	@echo "门户: http://127.0.0.1:8000/   管理后台: http://127.0.0.1:8000/admin/   API 文档: http://127.0.0.1:8000/api/docs/"
	$(MANAGE) runserver 127.0.0.1:8000

# The whole suite on the database DATABASE_URL names (SQLite file when unset).
test: venv
	$(PY) -m pytest -p no:cacheprovider $(PYTEST_ARGS)

bench: venv
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq --no-install-recommends wrk; } \
	  || echo "note: the API load benchmark needs wrk (sudo apt-get install -y wrk)"
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 media
