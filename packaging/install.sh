#!/usr/bin/env bash
# Builds musiqued and musiquectl, installs them to ~/.cargo/bin, and registers
# musiqued as a user service (systemd on Linux, launchd on macOS).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"

cargo install --locked --path "$root/daemon"
cargo install --locked --path "$root/ctl"
bin="${CARGO_HOME:-$HOME/.cargo}/bin"

case "$(uname -s)" in
  Linux)
    unit_dir="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"
    mkdir -p "$unit_dir"
    sed "s|%h/.cargo/bin/musiqued|$bin/musiqued|" "$here/musiqued.service" > "$unit_dir/musiqued.service"
    systemctl --user daemon-reload
    systemctl --user enable --now musiqued
    echo "musiqued runs as a systemd user service: systemctl --user status musiqued"
    ;;
  Darwin)
    agents="$HOME/Library/LaunchAgents"
    mkdir -p "$agents"
    sed "s|MUSIQUED_PATH|$bin/musiqued|" "$here/org.musique.musiqued.plist" > "$agents/org.musique.musiqued.plist"
    launchctl bootstrap "gui/$(id -u)" "$agents/org.musique.musiqued.plist"
    echo "musiqued runs as a launchd agent: launchctl print gui/$(id -u)/org.musique.musiqued"
    ;;
  *)
    echo "installed $bin/musiqued and $bin/musiquectl; start musiqued with your service manager" >&2
    ;;
esac
