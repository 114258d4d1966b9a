#!/usr/bin/env bash
# with-binfmt.sh QEMU CMD [ARGS...]: run CMD with the kernel starting aarch64
# ELF files through QEMU (qemu-aarch64), for CMD and everything it starts.
#
# Meant to run inside a new user and mount namespace (run.sh calls it as
# `unshare --user --map-root-user --mount with-binfmt.sh ...`): since Linux
# 6.7 such a namespace can mount its own binfmt_misc instance, so the handler
# registered here exists only for this process tree and disappears with it.
# Nothing on the machine changes (no `update-binfmts`, no global
# /proc/sys/fs/binfmt_misc entry).
#
# Why a handler at all: Criterion runs every test in a worker that it starts
# by exec'ing /proc/self/exe, the test of the examples starts them with
# popen(), and qemu-user does not follow execve() into another emulated
# program by itself.
set -eu
qemu=$1
shift
# The usual place; in this mount namespace the mount hides nothing outside.
mnt=/proc/sys/fs/binfmt_misc
mount -t binfmt_misc binfmt_misc "$mnt"
# name:type:offset:magic:mask:interpreter:flags.  The magic is the ELF
# header of a 64-bit little-endian executable or shared object (e_type 2 or
# 3, hence the fe mask) for machine 183 (0xb7, EM_AARCH64); the kernel
# decodes the \x escapes itself.  F: open the interpreter now, so it is found
# whatever the program's root or mount view.
printf '%s' ":qemu-aarch64:M::\\x7fELF\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00:\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff:$qemu:F" \
    > "$mnt/register"
exec "$@"
