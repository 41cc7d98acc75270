#!/usr/bin/env bash
# The S3-compatible server the backup tests and `make bench` run restic against. Debian 12 has no
# seaweedfs/minio package, so it is moto's standalone server (a real HTTP S3 endpoint from PyPI),
# kept in its own venv so its pins never meet eduops's. restic itself comes from Debian (debian-packages.txt).
set -euo pipefail
dest="${EDUOPS_S3_SERVER_HOME:-/opt/eduops/s3-server}"
if [ -x "$dest/bin/moto_server" ]; then
  exit 0
fi
echo "installing the S3 test server (moto[server]) into $dest"
mkdir -p "$(dirname "$dest")"
python3 -m venv "$dest"
"$dest/bin/pip" install -q 'moto[server]==5.2.5'
