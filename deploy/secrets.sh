#!/usr/bin/env bash
# Fresh secrets for docker compose, in .env next to docker-compose.yml (mode 600); compose refuses to
# start without them. Values already in .env are kept, so running it again changes nothing.
# usage: deploy/secrets.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ENV_FILE=$ROOT/.env

signing_key() {
  # One line with literal \n: compose's .env holds no multi-line values; identity reads it back as PEM.
  if command -v openssl >/dev/null; then openssl genpkey -algorithm ed25519; else "$ROOT/.venv/bin/border-identity" keys generate; fi |
    awk '{printf "%s\\n", $0}'
}

umask 077
touch "$ENV_FILE"
add() { # NAME VALUE
  [[ -n $(read_env_value "$ENV_FILE" "$1") ]] && return 0
  printf '%s="%s"\n' "$1" "$2" >>"$ENV_FILE"
  log "wrote $1 to $ENV_FILE"
}
for name in POSTGRES_PASSWORD GRAFANA_ADMIN_PASSWORD KANNEL_ADMIN_PASSWORD KANNEL_SEND_PASSWORD \
  KANNEL_INBOUND_SECRET METRICS_TOKEN; do
  add "$name" "$(new_secret)"
done
add IDENTITY_SIGNING_KEY "$(signing_key)"
chmod 600 "$ENV_FILE"
