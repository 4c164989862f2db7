#!/usr/bin/env bash
# Builds the Python package (python/: maturin, bindings = "bin", so the wheel carries the release
# binary), installs the wheel into a fresh venv whose PATH has no Rust toolchain, and runs ruff,
# mypy and the package's own pytest suite there, against the installed binary.
# Caches in target/python-package: maturin's venv, a wheelhouse of the pinned test requirements,
# and the ruff and mypy caches. Installs python3 and venv with apt when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
MATURIN_VERSION=1.16.0
# The lowest manylinux policy the binary passes: built against this machine's glibc (2.36), its
# newest versioned glibc symbols are GLIBC_2.34. maturin's audit refuses a wheel that needs more.
POLICY=manylinux_2_34
WORK=$PWD/target/python-package
SECONDS=0

if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  echo "python-package: installing python3 and python3-venv"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
fi
# The interpreter itself, not a shim: the clean environment below has no shims on PATH.
PYTHON=$(python3 -c 'import sys; print(sys.executable)')
PYVER=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
mkdir -p "$WORK"

# 1. maturin, in a venv of its own.
BUILD_VENV=$WORK/build-venv
if [ "$(cat "$BUILD_VENV/.maturin-version" 2>/dev/null)" != "$MATURIN_VERSION" ]; then
  echo "python-package: creating $BUILD_VENV with maturin $MATURIN_VERSION"
  rm -rf "$BUILD_VENV"
  "$PYTHON" -m venv "$BUILD_VENV"
  "$BUILD_VENV/bin/pip" install -q --disable-pip-version-check "maturin==$MATURIN_VERSION"
  echo "$MATURIN_VERSION" > "$BUILD_VENV/.maturin-version"
fi

# 2. The wheel: cargo's release build of vcmock (cached in target/release) plus the package.
rm -rf "$WORK/wheels"
(cd python && nice -n 10 "$BUILD_VENV/bin/maturin" build --release --locked \
  --compatibility "$POLICY" --auditwheel check --out "$WORK/wheels")
WHEEL=$(ls "$WORK"/wheels/vcmock-*.whl)
WHEEL_BYTES=$(stat -c %s "$WHEEL")
echo "python-package: built $(basename "$WHEEL"): $WHEEL_BYTES bytes ($((SECONDS)) s so far)"

# 3. The pinned test requirements as local wheels, so that each fresh venv installs offline.
WHEELHOUSE=$WORK/wheelhouse
KEY="$PYVER $(sha256sum python/requirements-test.txt | cut -d' ' -f1)"
if [ "$(cat "$WHEELHOUSE/.key" 2>/dev/null)" != "$KEY" ]; then
  echo "python-package: downloading the test requirements into $WHEELHOUSE"
  rm -rf "$WHEELHOUSE"
  "$BUILD_VENV/bin/pip" download -q --disable-pip-version-check \
    -r python/requirements-test.txt -d "$WHEELHOUSE"
  echo "$KEY" > "$WHEELHOUSE/.key"
fi

# 4. A fresh venv in an environment with no Rust toolchain on PATH (and nothing else inherited).
VENV=$WORK/test-venv
rm -rf "$VENV"
clean() {
  env -i HOME="$HOME" LANG=C.UTF-8 PATH="$VENV/bin:/usr/local/bin:/usr/bin:/bin" \
    PYTHONDONTWRITEBYTECODE=1 RUFF_CACHE_DIR="$WORK/ruff-cache" "$@"
}
if clean sh -c 'command -v cargo || command -v rustc'; then
  echo "python-package: the clean environment still finds a Rust toolchain" >&2
  exit 1
fi
clean "$PYTHON" -m venv "$VENV"
clean "$VENV/bin/pip" install -q --disable-pip-version-check --no-index --no-compile \
  --find-links "$WHEELHOUSE" -r python/requirements-test.txt "$WHEEL"
echo "python-package: installed the wheel into a fresh venv ($((SECONDS)) s so far)"

# 5. Lint, type-check and test the installed package.
cd python
clean ruff format --check .
clean ruff check .
clean mypy --cache-dir "$WORK/mypy-cache"
START=$SECONDS
clean pytest -p no:cacheprovider
echo "python-package: wheel $WHEEL_BYTES bytes; suite $((SECONDS - START)) s; step $SECONDS s"
