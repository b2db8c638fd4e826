#!/bin/sh
# Builds the VM guest: native/guest/build/isthmus_guest (gcc -static -O2: this directory's
# isthmus_guest.c + the C core in native/src) and native/guest/build/initramfs.cpio.gz
# (busybox-static, the guest, /init, the golden vectors). See docs/vm.md; the work is done
# by test/vm/initramfs.ts with the repository's pinned Node.
set -e
cd "$(dirname "$0")/../.."
exec npx node test/vm/initramfs.ts
