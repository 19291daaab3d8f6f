#!/usr/bin/env bash
# Runs a container end to end on a fresh Debian machine: installs dockyard and its
# packages, makes a busybox rootfs from Debian's busybox-static, imports it as an image,
# writes an OCI bundle and runs it with dockyard-runtime (runc's command line).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
. .venv/bin/activate
work=$(mktemp -d /tmp/dockyard-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
rootfs=$work/bundle/rootfs
mkdir -p "$rootfs/bin" "$rootfs/etc"
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$rootfs/etc/passwd"
echo 'root:x:0:' > "$rootfs/etc/group"
# An image in dockyard's store, made from that tree, run as Docker would run it.
tar -C "$rootfs" -cf "$work/busybox.tar" .
dy() { dockyard --root "$work/store" --exec-root "$work/exec" "$@"; }
dy import "$work/busybox.tar" busybox:demo
dy images
dy run --rm --name demo -e GREETING=hello busybox:demo \
  sh -c 'echo "$GREETING from $(hostname), pid $$, in a container"; grep CapEff /proc/self/status'
# The OCI runtime alone, with runc's command line, on an OCI bundle.
cd "$work/bundle"
dockyard-runtime spec
python3 - <<'PY'
import json
spec = json.load(open("config.json"))
spec["process"]["terminal"] = False
spec["process"]["args"] = ["sh", "-c", "echo hello from dockyard-runtime in $(hostname); ls /"]
spec["linux"]["resources"]["memory"] = {"limit": 64 << 20}
json.dump(spec, open("config.json", "w"), indent=2)
PY
dockyard-runtime --root "$work/state" run demo
