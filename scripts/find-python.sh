#!/usr/bin/env bash
# Print the path of a working Python X.Y interpreter: pythonX.Y on PATH, else pyenv's X.Y.
# Usage: scripts/find-python.sh 3.10
set -euo pipefail
want="$1"
works() { [ -n "$1" ] && "$1" -c "import sys; assert sys.version_info[:2] == tuple(map(int, '$want'.split('.')))" 2>/dev/null; }
cand=$(command -v "python$want" 2>/dev/null || true)
if works "$cand"; then echo "$cand"; exit 0; fi
if command -v pyenv >/dev/null 2>&1; then
  prefix=$(pyenv prefix "$want" 2>/dev/null || true)
  if works "$prefix/bin/python$want"; then echo "$prefix/bin/python$want"; exit 0; fi
fi
if [ "$want" = "$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" ]; then
  command -v python3; exit 0
fi
echo "error: Python $want is required but was not found (looked for python$want on PATH and in pyenv)." >&2
echo "       Install it (for example: pyenv install $want) and run make again." >&2
exit 1
