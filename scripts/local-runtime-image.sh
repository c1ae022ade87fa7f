#!/usr/bin/env bash
# A stand-in for AWS's Lambda python3.13 base image, built from Debian packages and PyPI wheels
# only, for `sam local invoke --invoke-image IMAGE --skip-pull-image` on a machine that cannot
# pull public.ecr.aws/lambda/python. Prints the image reference on stdout; progress on stderr.
#
#   scripts/local-runtime-image.sh [arm64|amd64]     default arm64, the function's architecture
#
# What is in it: `debootstrap --variant=minbase` of Debian trixie (its python3 is 3.13, as the
# runtime's), the wheels pinned in local-runtime-requirements.txt in /var/runtime (awslambdaric,
# and boto3 because the real runtime ships it) compiled to bytecode, and /var/runtime/bootstrap,
# which the runtime interface emulator that SAM adds on top starts, as Lambda does.
#
# Cached: rebuilt only when this script, the requirements or the architecture change (their
# hash is an image label). SAM derives its own `...:rapid-<arch>` image from this one and does
# not notice a new base, so a rebuild removes it.
#
# Needs root, a running Docker daemon and debootstrap; another architecture than the machine's
# (arm64 on x86_64) also needs qemu-user-static registered in binfmt_misc with the F flag, so
# that arm64 programs run in the chroot and in containers.
set -euo pipefail

arch=${1:-arm64}
here=$(cd "$(dirname "$0")" && pwd)
requirements=$here/local-runtime-requirements.txt
suite=trixie
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
python=${PYTHON:-python3} # any Python with pip: it only fetches and unpacks wheels
repository=recorder-guard-lambda-python
image=$repository:3.13-$arch
label=org.recorder-guard.inputs

case $arch in
  arm64) wheel_platform=manylinux2014_aarch64 binfmt=qemu-aarch64 ;;
  amd64) wheel_platform=manylinux2014_x86_64 binfmt=qemu-x86_64 ;;
  *) echo "usage: $0 [arm64|amd64]" >&2 && exit 2 ;;
esac

if ! docker info >/dev/null 2>&1; then
  echo "docker: no daemon answers; start dockerd first" >&2
  exit 1
fi
inputs=$(cat "$0" "$requirements" <(echo "$suite $arch") | sha256sum | cut -c1-16)
cached=$(docker image inspect --format "{{index .Config.Labels \"$label\"}}" "$image" 2>/dev/null || true)
if [ "$cached" = "$inputs" ]; then
  echo "$image"
  exit 0
fi

if [ "$(dpkg --print-architecture)" != "$arch" ]; then
  entry=/proc/sys/fs/binfmt_misc/$binfmt
  if ! grep -qx enabled "$entry" 2>/dev/null || ! grep -q '^flags: .*F' "$entry"; then
    echo "$arch programs cannot run on this $(uname -m) machine: install qemu-user-static and" \
      "binfmt-support (Debian), mount binfmt_misc, then: update-binfmts --enable $binfmt" >&2
    exit 1
  fi
fi

work=$(mktemp -d "${TMPDIR:-/var/tmp}/recorder-guard-runtime.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
echo "building $image (inputs $inputs): Debian $suite $arch, then PyPI wheels" >&2

if ! debootstrap --variant=minbase --arch="$arch" --include=python3 \
  "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
  tail -n 30 "$work/debootstrap.log" >&2
  echo "debootstrap failed (last lines above)" >&2
  exit 1
fi

if ! "$python" -m pip install --disable-pip-version-check --no-deps --only-binary=:all: \
  --platform "$wheel_platform" --implementation cp --python-version 3.13 \
  --target "$rootfs/var/runtime" -r "$requirements" >"$work/pip.log" 2>&1; then
  tail -n 30 "$work/pip.log" >&2
  echo "pip install failed (last lines above)" >&2
  exit 1
fi
rm -rf "$rootfs/var/runtime/bin" # console scripts: not part of a runtime
# Bytecode by the image's own python3, as the real runtime ships it (its code dir is read-only).
chroot "$rootfs" python3 -m compileall -q --invalidation-mode unchecked-hash /var/runtime >/dev/null

cat >"$rootfs/var/runtime/bootstrap" <<'EOF'
#!/bin/sh
# Started by the runtime interface emulator (/var/rapid/aws-lambda-rie) that `sam local invoke`
# adds to this image, as Lambda starts a runtime: the function's code and its own dependencies
# from /var/task (read-only), boto3 and the runtime interface client from /var/runtime.
cd /var/task
export PYTHONPATH=/var/task:/opt/python:/var/runtime
exec /usr/bin/python3 -m awslambdaric "${_HANDLER:-$AWS_LAMBDA_FUNCTION_HANDLER}"
EOF
chmod 755 "$rootfs/var/runtime/bootstrap"
mkdir -p "$rootfs/var/task" "$rootfs/opt"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*

# A build FROM scratch rather than `docker import`: import records the daemon's architecture
# whatever the files are, a build records the platform asked for.
mkdir "$work/context"
tar -C "$rootfs" --numeric-owner -cf "$work/context/rootfs.tar" .
cat >"$work/context/Dockerfile" <<'EOF'
FROM scratch
ADD rootfs.tar /
ENV LANG=C.UTF-8 TZ=:UTC LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime
WORKDIR /var/task
EOF
previous=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
if ! docker build --platform "linux/$arch" --label "$label=$inputs" -t "$image" \
  "$work/context" >"$work/build.log" 2>&1; then
  cat "$work/build.log" >&2
  exit 1
fi
docker image ls --format '{{.Repository}}:{{.Tag}}' "$repository" | { grep ':rapid-' || true; } |
  xargs -r docker rmi >/dev/null
if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect --format '{{.Id}}' "$image")" ]; then
  docker rmi "$previous" >/dev/null 2>&1 || true
fi
echo "$image"
