#!/usr/bin/env bash
# with-binfmt.sh QEMU CMD [ARGS...]: run CMD with the kernel starting the
# programs of QEMU's machine through QEMU (qemu-user), for CMD and everything
# it starts.  QEMU is /usr/bin/qemu-aarch64 (make arm64) or /usr/bin/qemu-i386
# (the -m32 cells of make portability, on a kernel that does not run 32-bit
# x86 programs itself: built without IA32 emulation, or with it turned off).
#
# Meant to run inside a new user and mount namespace (callers use
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
# The ELF header of an executable or shared object for that machine:
# class (1: 32-bit, 2: 64-bit), little-endian, e_type 2 or 3 (hence the fe
# mask), e_machine 183 (0xb7, EM_AARCH64) or 3 (EM_386).  The kernel decodes
# the \x escapes itself; the mask skips the OS/ABI byte.
case $(basename "$qemu") in
qemu-aarch64) class='\x02' machine='\xb7' ;;
qemu-i386)    class='\x01' machine='\x03' ;;
*) echo "with-binfmt.sh: no ELF magic known for $qemu" >&2; exit 1 ;;
esac
magic="\\x7fELF$class\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00$machine\\x00"
mask='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
# The usual place; in this mount namespace the mount hides nothing outside.
mnt=/proc/sys/fs/binfmt_misc
mount -t binfmt_misc binfmt_misc "$mnt"
# name:type:offset:magic:mask:interpreter:flags.  F: open the interpreter
# now, so it is found whatever the program's root or mount view.
printf '%s' ":$(basename "$qemu"):M::$magic:$mask:$qemu:F" > "$mnt/register"
exec "$@"
