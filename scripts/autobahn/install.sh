#!/usr/bin/env bash
# Installs Autobahn|Testsuite 0.8.2 (`wstest`, Python 2.7 code) into a virtualenv, idempotently:
# every step checks whether it is done already and is skipped if so.
#
#   bash scripts/autobahn/install.sh
#
# Environment:
#   AUTOBAHN_VENV  where the virtualenv goes (default: ~/.cache/streamcheck/autobahn-venv)
#   PYTHON2        the Python 2.7 interpreter to use (default: /usr/bin/python2.7, then PATH)
#
# Steps: (1) Python 2.7 with headers, from Debian bullseye when the release has none (needs
# root); (2) pip for Python 2.7 (--user), bootstrapped from wheels fetched by Python 3's pip;
# (3) virtualenv 20.15.1 (--user); (4) the virtualenv; (5) requirements.txt in it; (6) check.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
venv=${AUTOBAHN_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/streamcheck/autobahn-venv}
requirements=$here/requirements.txt
bullseye_list=/etc/apt/sources.list.d/bullseye-tmp.sources

say() { echo "install.sh: $*"; }
die() { echo "install.sh: error: $*" >&2; exit 1; }

# pip 20.3 on Python 2.7 prints an end-of-life banner on every call.
export PIP_NO_PYTHON_VERSION_WARNING=1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Runs a command as root: directly, or through sudo when that works without a password.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    die "'$*' needs root: run install.sh as root, or install Python 2.7 with headers yourself and set PYTHON2=/path/to/python2.7"
  fi
}

# The first interpreter that really is CPython 2.7 (a pyenv shim may exist without one behind it).
find_python2() {
  local c
  for c in ${PYTHON2:-} /usr/bin/python2.7 "$(command -v python2.7 || true)"; do
    [ -n "$c" ] || continue
    if "$c" -c 'import sys; assert sys.version_info[:2] == (2, 7)' 2>/dev/null; then
      "$c" -c 'import sys; print(sys.executable)'
      return 0
    fi
  done
  return 1
}

has_headers() {
  # distutils, not sysconfig: Debian's sysconfig names /usr/local/include, where nothing is.
  "$1" -c 'import os; from distutils import sysconfig as s; assert os.path.exists(os.path.join(s.get_python_inc(), "Python.h"))' 2>/dev/null
}

# ---- 1. Python 2.7 and its headers (C extensions: wsaccel, zope.interface are built from source)
py2=$(find_python2 || true)
if [ -n "$py2" ] && has_headers "$py2" && command -v cc >/dev/null; then
  say "1/6 Python 2.7 with headers and a C compiler: present ($py2), skipped"
else
  command -v apt-get >/dev/null || die "no Python 2.7 with headers and no apt-get: install CPython 2.7 + its headers (e.g. 'pyenv install 2.7.18') and a C compiler, then rerun with PYTHON2=/path/to/python2.7"
  # Captured first: grep -q on a pipe would kill apt-cache early, which pipefail reports.
  policy=$(apt-cache policy python2.7-dev 2>/dev/null || true)
  if ! grep -q 'Candidate: [0-9]' <<<"$policy"; then
    # Debian 12 (bookworm) dropped Python 2; bullseye, the release before, still ships 2.7.18.
    grep -qs '^ID=debian' /etc/os-release || die "this distribution has no python2.7-dev package: install CPython 2.7 with headers another way and rerun with PYTHON2=/path/to/python2.7"
    [ -r /usr/share/keyrings/debian-archive-keyring.gpg ] || die "missing /usr/share/keyrings/debian-archive-keyring.gpg: apt-get install debian-archive-keyring, then rerun"
    say "1/6 adding Debian bullseye to apt's sources ($bullseye_list) for python2.7"
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bullseye\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' > "$tmp/bullseye.sources"
    as_root install -m 644 "$tmp/bullseye.sources" "$bullseye_list"
    say "1/6 apt-get update"
    as_root apt-get update -q || die "apt-get update failed: check network access to deb.debian.org (and $bullseye_list), then rerun"
  fi
  pkgs=(python2.7 python2.7-dev)
  command -v cc >/dev/null || pkgs+=(gcc libc6-dev)
  say "1/6 apt-get install ${pkgs[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pkgs[@]}" \
    || die "apt-get install ${pkgs[*]} failed: read apt's message above, fix it (e.g. apt-get update), then rerun"
  py2=$(find_python2) || die "python2.7 was installed but does not run: check 'python2.7 --version', then rerun"
  has_headers "$py2" || die "$py2 has no Python.h: install python2.7-dev for it, then rerun"
fi

# ---- 2. pip for Python 2.7 (pip 21+ no longer runs on 2.7, and bookworm has no python-pip for it)
if "$py2" -m pip --version >/dev/null 2>&1; then
  say "2/6 pip for Python 2.7: present ($("$py2" -m pip --version 2>/dev/null | cut -d' ' -f1,2)), skipped"
else
  py3=$(command -v python3 || true)
  [ -n "$py3" ] && "$py3" -m pip --version >/dev/null 2>&1 || die "need Python 3 with pip to fetch pip for Python 2.7: install python3-pip, then rerun"
  say "2/6 fetching pip 20.3.4, setuptools 44.1.1, wheel 0.37.1 (the last releases for 2.7)"
  "$py3" -m pip download -q --no-deps pip==20.3.4 setuptools==44.1.1 wheel==0.37.1 -d "$tmp/wheels" \
    || die "could not download the pip/setuptools/wheel wheels from PyPI: check network access, then rerun"
  say "2/6 installing them for Python 2.7 (--user)"
  "$py2" "$tmp/wheels/pip-20.3.4-py2.py3-none-any.whl/pip" install -q --no-warn-script-location --no-index --find-links "$tmp/wheels" --user pip setuptools wheel \
    || die "bootstrapping pip for $py2 failed (see above): fix it, then rerun"
fi

# ---- 3. virtualenv 20.15.1 (the last that creates Python 2.7 environments)
# virtualenv prints its version on stderr under Python 2.
if [[ $("$py2" -m virtualenv --version 2>&1) == "virtualenv 20.15.1 "* ]]; then
  say "3/6 virtualenv 20.15.1 for Python 2.7: present, skipped"
else
  say "3/6 installing virtualenv 20.15.1 for Python 2.7 (--user)"
  "$py2" -m pip install -q --no-warn-script-location --user virtualenv==20.15.1 || die "pip install virtualenv==20.15.1 for $py2 failed (see above): fix it, then rerun"
fi

# ---- 4. the virtualenv
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import sys; assert sys.version_info[:2] == (2, 7)' 2>/dev/null; then
  say "4/6 virtualenv $venv: present, skipped"
else
  say "4/6 creating the virtualenv $venv"
  mkdir -p "$(dirname "$venv")"
  "$py2" -m virtualenv -q -p "$py2" "$venv" || die "creating $venv failed (see above): remove it (rm -rf $venv), then rerun"
fi

# ---- 5. Autobahn|Testsuite and its pinned dependencies
wanted=$(grep -v '^#' "$requirements" | sort -f)
installed=$("$venv/bin/python" -m pip freeze 2>/dev/null | grep -v '^-f' | sort -f || true)
if [ "$wanted" = "$installed" ]; then
  say "5/6 requirements.txt: installed exactly, skipped"
else
  say "5/6 installing requirements.txt (autobahntestsuite 0.8.2 and $(($(echo "$wanted" | wc -l) - 1)) pinned dependencies; C extensions are compiled)"
  "$venv/bin/python" -m pip install -q -r "$requirements" \
    || die "pip install -r $requirements failed (see above): fix the cause, or start over with rm -rf $venv, then rerun"
fi

# ---- 6. check
versions=$(PYTHONWARNINGS=ignore "$venv/bin/wstest" --autobahnversion 2>/dev/null | tr '\n' ' ') \
  || die "$venv/bin/wstest does not run: remove $venv and rerun install.sh"
say "6/6 ok: $versions($("$venv/bin/python" --version 2>&1)) in $venv"
