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
#   With ISTHMUS_CT_SRC=<dir>, <dir> (the repository) is also bind-mounted read-only at
#   <container-runtime-dir>/src, so a peer running under another uid can read it even when
#   the checkout's parent folders are closed to that uid (a clone under /root or mktemp -d).
set -eu
host=$1
ct=$2
shift 2
mount --make-rprivate /
mount -t tmpfs -o mode=0755 isthmus-ct-run "$ct"
: > "$ct/agent.sock"
mount --bind "$host/agent.sock" "$ct/agent.sock"
if [ -n "${ISTHMUS_CT_SRC:-}" ]; then
  mkdir "$ct/src"
  mount --bind "$ISTHMUS_CT_SRC" "$ct/src"
  mount -o remount,bind,ro "$ct/src"
fi
mount -t tmpfs -o mode=0700 isthmus-ct-hide "$host"
mount -t tmpfs -o mode=1777 isthmus-ct-shm /dev/shm
mount -t sysfs isthmus-ct-sys /sys
hostname isthmus-ct
export XDG_RUNTIME_DIR="$ct"
cd "$ct"
exec "$@"
