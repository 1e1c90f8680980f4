#!/usr/bin/env bash
# Installs spinescreen's build and test dependencies from Debian 12 packages. Idempotent:
# does nothing when every package is already installed.
set -euo pipefail

# ITK's CMake configuration links FFTW (and uuid) into every ITK target, but Debian lists
# them only as recommendations of libinsighttoolkit5-dev, which --no-install-recommends skips.
PACKAGES=(
  build-essential cmake ccache pkg-config git
  libinsighttoolkit5-dev libfftw3-dev uuid-dev
  libdcmtk-dev dcmtk
  nlohmann-json3-dev libcli11-dev libcpp-httplib-dev libvalijson-dev
  libgtest-dev googletest libbenchmark-dev
  libpng-dev zlib1g-dev libsqlite3-dev
  dcm2niix python3 time
  orthanc dicom3tools libgdcm-tools
  clang clang-format clang-tidy libclang-rt-14-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
