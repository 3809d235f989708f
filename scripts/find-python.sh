#!/usr/bin/env bash
# Prints the path of a Python >= 3.12 interpreter (Django 6.1 needs it), or explains and fails.
# pyenv shims for versions that are installed but not active exist and fail when run, so each
# candidate is actually executed rather than trusted by name.
set -u
candidates=(python3.13 python3.12 python3 python)
for d in "$HOME"/.pyenv/versions/3.1[2-9]* /usr/local/bin /usr/bin; do
  for p in "$d"/bin/python3 "$d"/python3.13 "$d"/python3.12; do [ -x "$p" ] && candidates+=("$p"); done
done
for c in "${candidates[@]}"; do
  if "$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then
    command -v "$c" 2>/dev/null || echo "$c"
    exit 0
  fi
done
echo "错误：需要 Python 3.12 或更高版本（Django 6.1 的要求），本机未找到。" >&2
echo "error: Python >= 3.12 is required by Django 6.1 and none was found; install python3.12 (e.g. 'pyenv install 3.12') and retry." >&2
exit 1
