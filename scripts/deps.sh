#!/bin/sh
# Install what pinmm needs to build, test and compare against the live kernel,
# by Debian package name. Skips apt entirely when everything is already there,
# so repeated runs (and CI on a warm machine) cost nothing.
set -eu
PKGS="build-essential make perl pkgconf liburcu-dev liburing-dev libxxhash-dev clang libexpat1-dev spin valgrind"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "pinmm: installing:$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
