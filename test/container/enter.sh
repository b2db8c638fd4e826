#!/bin/sh
# Runs inside fresh namespaces (unshare --mount --pid --net --ipc --uts --fork --mount-proc):
# turns them into a "container" whose only way out is the agent's socket, then execs
# the command.
#
# usage: enter.sh <host-runtime-dir> <container-runtime-dir> <command> [args...]
#   <host-runtime-dir>/agent.sock is the agent's socket on the host. It is bind-mounted to
#   <container-runtime-dir>/agent.sock (on a fresh tmpfs), then the host runtime dir is
#   covered by an empty tmpfs, /dev/shm gets a fresh private tmpfs and /sys a sysfs of the
#   new network namespace (where only lo exists, down). XDG_RUNTIME_DIR points at the
#   container's runtime dir.
set -eu
host=$1
ct=$2
shift 2
mount --make-rprivate /
mount -t tmpfs -o mode=0755 isthmus-ct-run "$ct"
: > "$ct/agent.sock"
mount --bind "$host/agent.sock" "$ct/agent.sock"
mount -t tmpfs -o mode=0700 isthmus-ct-hide "$host"
mount -t tmpfs -o mode=1777 isthmus-ct-shm /dev/shm
mount -t sysfs isthmus-ct-sys /sys
hostname isthmus-ct
export XDG_RUNTIME_DIR="$ct"
exec "$@"
