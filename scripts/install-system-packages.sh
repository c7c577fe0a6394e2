#!/usr/bin/env bash
# Install the system packages the integration tests need (run as root, e.g. in CI). Idempotent:
# only missing packages are installed, and apt-get update runs at most once.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

if [ "$(id -u)" -ne 0 ]; then
  echo "run as root: sudo bash $0" >&2
  exit 1
fi

wanted=(openssh-server podman runc podman-docker docker-compose busybox-static chromium uidmap iproute2 openssl procps util-linux gzip yq)
# PostgreSQL client tools (pg_dump, pg_restore, psql) run on the target host, which is this machine in the tests.
if ! command -v pg_dump >/dev/null || ! command -v pg_restore >/dev/null; then
  wanted+=(postgresql-client-15)
fi
# PostgreSQL 15 server: some machines ship it in /usr/local/bin; the sandbox also looks in /usr/lib/postgresql/15/bin.
if [ ! -x /usr/local/bin/initdb ] && [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
  wanted+=(postgresql-15)
fi

missing=()
for pkg in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -q
  apt-get install -y -q "${missing[@]}"
else
  echo "all system packages present"
fi

# sshd refuses to start without its privilege-separation directory.
mkdir -p -m0755 /run/sshd
