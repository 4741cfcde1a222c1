#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine, skipping what is already there.
# usage: deploy/install.sh [--test]   (--test adds what only the test suite needs: Chromium)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Pango, harfbuzz and Khmer fonts: WeasyPrint lays out the printed reports and manifests with them (without
# the fonts, boxes). Caddy: the one HTTPS origin (deploy/proxy.sh); openssl prints its CA's fingerprint.
packages=(openjdk-17-jre-headless maven postgresql kannel kannel-extras gettext-base curl
  libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-khmeros caddy openssl)
# Chromium for the browser tests, certutil to make it trust the proxy's CA; prometheus for promtool.
[[ ${1:-} == --test ]] && packages+=(chromium libnss3-tools prometheus)
# java/mvn may come from elsewhere than Debian (the image's own JDK): only install what is absent.
command -v java >/dev/null && packages=("${packages[@]/openjdk-17-jre-headless}")
command -v mvn >/dev/null && packages=("${packages[@]/maven}")
apt_install $(printf '%s\n' "${packages[@]}" | grep .)

# The Python environment, rebuilt only when the dependencies change.
VENV=$ROOT/.venv
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
stamp=$(cat "$ROOT/pyproject.toml" "$ROOT/constraints.txt" | sha256sum | cut -d' ' -f1)
if [[ ! -x $VENV/bin/python || $(cat "$VENV/.stamp" 2>/dev/null) != "$stamp" ]]; then
  log "installing Python packages into .venv"
  [[ -x $VENV/bin/python ]] || "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -c "$ROOT/constraints.txt" -e "$ROOT[dev]"
  echo "$stamp" >"$VENV/.stamp"
fi
