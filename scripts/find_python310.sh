#!/usr/bin/env bash
# Prints the path of a working Python 3.10 (Rasa 3.6 does not install on 3.11+).
# pyenv's shim only works when 3.10 is the selected version, so look for the real binary too.
for candidate in "${PYTHON310:-}" python3.10 "$HOME"/.pyenv/versions/3.10*/bin/python3.10 /usr/bin/python3.10 /usr/local/bin/python3.10; do
  [ -n "$candidate" ] || continue
  path=$(command -v "$candidate" 2>/dev/null) || continue
  if "$path" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
    echo "$path"; exit 0
  fi
done
echo "Python 3.10 not found: install it (e.g. 'pyenv install 3.10.13') or set PYTHON310" >&2
exit 1
