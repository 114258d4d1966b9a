# mk/platform.mk - async.h on other platforms (issue 14), one target each:
#   make arm64   the Criterion suite (switch, labels, poll backends) and the
#                examples cross-compiled for aarch64, run under qemu-aarch64,
#                plus a cross-thread stress run          (platform/arm64/run.sh)
#   make wasm    examples, the model test and a host-driven loop built with
#                emscripten and run under node, compared with native builds
#                                                         (platform/wasm/run.sh)
#   make mcu     a bare-metal Cortex-M3 program (SysTick clock, WFI idle)
#                under qemu-system-arm, checked against its expected output,
#                with flash/RAM figures                  (platform/mcu/run.sh)
#   make windows the test files that need neither pipes nor fork, built with
#                mingw-w64 and run under wine64 (both coroutine backends),
#                the examples compared with native output  (platform/windows/run.sh),
#                then the crawler (areq, libcurl cross-built from Debian's
#                source) against a local site             (platform/windows/curl.sh)
#   make platforms   all four
# Each installs its tools from Debian when missing.  Outputs and logs go to
# $(BUILD)/platform/NAME.

PLATFORM_OUT := $(BUILD)/platform

.PHONY: arm64 wasm mcu windows platforms deps-arm64 deps-wasm deps-mcu deps-windows

# Like `need`, but without recommended packages (qemu-user's would register
# binfmt handlers machine-wide, qemu-system-arm's bring GUI and firmware
# packages, gcc-arm-none-eabi's 1.5 GB of C++ libraries), and refusing an
# install that would remove a package: in Debian gcc-aarch64-linux-gnu and
# gcc-multilib (which `make portability` needs) exclude each other, which is
# why the arm64 build uses clang with the cross libc instead.
# $(1) = file to test, $(2) = package(s).
define platform_need
	@test -e $(1) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing $(2) (needed for $(1))"; \
	    apt-get update -qq || exit 1; \
	    if apt-get install -s --no-install-recommends $(2) | grep '^Remv'; then \
	      echo "not installing $(2): it would remove the packages above"; exit 1; fi; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(2) >/dev/null || exit 1; \
	  else echo "missing $(2): run 'sudo apt-get install --no-install-recommends $(2)'"; exit 1; fi; }
endef

deps-arm64:
	$(call platform_need,/usr/bin/clang,clang)
	$(call platform_need,/usr/bin/qemu-aarch64,qemu-user)
	$(call platform_need,/usr/bin/aarch64-linux-gnu-ld,binutils-aarch64-linux-gnu)
	$(call platform_need,/usr/aarch64-linux-gnu/include/stdio.h,libc6-dev-arm64-cross)
	$(call platform_need,/usr/lib/gcc-cross/aarch64-linux-gnu/12/libgcc.a,libgcc-12-dev-arm64-cross)

deps-wasm:
	$(call platform_need,/usr/bin/cc,gcc)
	$(call platform_need,/usr/bin/node,nodejs)
	$(call platform_need,/usr/bin/emcc,emscripten)

deps-mcu:
	$(call platform_need,/usr/bin/arm-none-eabi-gcc,gcc-arm-none-eabi)
	$(call platform_need,/usr/lib/arm-none-eabi/newlib/thumb/v7-m/nofp/libc_nano.a,libnewlib-arm-none-eabi)
	$(call platform_need,/usr/bin/qemu-system-arm,qemu-system-arm)

deps-windows:
	$(call platform_need,/usr/bin/x86_64-w64-mingw32-gcc-win32,gcc-mingw-w64-x86-64-win32)
	$(call platform_need,/usr/bin/x86_64-w64-mingw32-g++-win32,g++-mingw-w64-x86-64-win32)
	$(call platform_need,/usr/lib/wine/wine64,wine64)
	$(call platform_need,/usr/bin/cmake,cmake)
	$(call platform_need,/usr/bin/ninja,ninja-build)
	$(call platform_need,/usr/bin/dpkg-source,dpkg-dev)
	$(call platform_need,/usr/include/x86_64-linux-gnu/curl/curl.h,libcurl4-openssl-dev)

arm64: deps-arm64
	bash platform/arm64/run.sh $(PLATFORM_OUT)/arm64

wasm: deps-wasm
	bash platform/wasm/run.sh $(PLATFORM_OUT)/wasm

mcu: deps-mcu
	bash platform/mcu/run.sh $(PLATFORM_OUT)/mcu

windows: deps-windows
	bash platform/windows/run.sh $(PLATFORM_OUT)/windows
	bash platform/windows/curl.sh $(PLATFORM_OUT)/windows/curl $(PLATFORM_OUT)/windows/areq

platforms: arm64 wasm mcu windows
