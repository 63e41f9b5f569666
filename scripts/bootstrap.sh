#!/usr/bin/env bash
# Installs what stac-bridge needs from the system, when it is missing: PostgreSQL server binaries, PostGIS,
# and Python's venv module. As root it installs them with apt; otherwise it says exactly what to install.
set -euo pipefail

PG_MAJOR="${STAC_BRIDGE_PG_MAJOR:-15}"
PYTHON="${PYTHON:-python3}"
missing=()

have_pg_server() {
  [ -n "${STAC_BRIDGE_DATABASE_URL:-}" ] && return 0
  [ -x "/usr/lib/postgresql/${PG_MAJOR}/bin/initdb" ] && return 0
  [ -n "${STAC_BRIDGE_PG_BINDIR:-}" ] && [ -x "${STAC_BRIDGE_PG_BINDIR}/initdb" ] && return 0
  return 1
}
have_postgis() {
  [ -n "${STAC_BRIDGE_DATABASE_URL:-}" ] && return 0
  [ -f "/usr/share/postgresql/${PG_MAJOR}/extension/postgis.control" ]
}
have_venv() {
  local probe
  probe="$(mktemp -d)"
  if "$PYTHON" -m venv "$probe/v" >/dev/null 2>&1; then rm -rf "$probe"; return 0; fi
  rm -rf "$probe"; return 1
}

have_pg_server || missing+=("postgresql-${PG_MAJOR}")
have_postgis || missing+=("postgresql-${PG_MAJOR}-postgis-3")
command -v "$PYTHON" >/dev/null 2>&1 || missing+=("python3")
if command -v "$PYTHON" >/dev/null 2>&1 && ! have_venv; then missing+=("python3-venv"); fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "stac-bridge needs these system packages: ${missing[*]}" >&2
  echo "install them as root:  apt-get install --no-install-recommends ${missing[*]}" >&2
  echo "(or set STAC_BRIDGE_DATABASE_URL to an existing PostgreSQL with PostGIS)" >&2
  exit 1
fi
echo "installing ${missing[*]} (apt)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# --no-upgrade: never upgrade what the machine already has, only add what is missing.
apt-get install -y -qq --no-install-recommends --no-upgrade "${missing[@]}" >/dev/null
