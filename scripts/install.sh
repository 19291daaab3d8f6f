#!/usr/bin/env bash
# Installs dockyard into ./.venv and the Debian packages it runs on.
#   install.sh        what `dockyard` needs to run containers
#   install.sh test   plus the peers and tools the test suite drives
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
pkgs=(busybox-static libseccomp2 iproute2 nftables tini python3 python3-venv)
if [ "${1:-}" = test ]; then
  pkgs+=(runc containerd skopeo umoci hyperfine docker-registry apache2-utils docker.io
         golang-github-opencontainers-image-spec-dev)  # the OCI image-spec JSON schemas
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Debian's python3 by default: its interpreter is linked statically, so each start (the
# CLI, the runtime's stage 1, the monitor) skips relocating a shared libpython: ~2.5 ms.
py=${PYTHON:-/usr/bin/python3}
[ -x .venv/bin/python ] || "$py" -m venv .venv
if [ "${1:-}" = test ]; then
  .venv/bin/pip install -q -e '.[test]'
else
  .venv/bin/pip install -q -e .
fi
# The OCI runtime starts without Python's `site` (~3 ms of every container start): -S on
# its interpreter line; the launcher puts the virtualenv's paths on sys.path itself.
sed -i '1{/ -S$/!s/$/ -S/}' .venv/bin/dockyard-runtime
# Compile the package's bytecode now: with PYTHONDONTWRITEBYTECODE set, an editable
# install would otherwise compile every module from source on every start.
.venv/bin/python -m compileall -q src
