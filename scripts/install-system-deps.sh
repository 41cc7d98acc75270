#!/usr/bin/env bash
# Installs the Debian packages eduops needs when they are missing: apt-get as root, otherwise the
# exact command is printed and the script stops.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
packages=$(grep -v '^\s*#' "$here/debian-packages.txt" | tr -s ' \n' ' ')
missing=()
for pkg in $packages; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
  if [ "$(id -u)" = "0" ]; then
    echo "installing Debian packages: ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "eduops needs these Debian packages: ${missing[*]}" >&2
    echo "run as root: $cmd" >&2
    exit 1
  fi
fi
# extra system tools that do not come from Debian's archive
for hook in "$here"/system-deps.d/*.sh; do
  [ -e "$hook" ] && bash "$hook"
done
exit 0
