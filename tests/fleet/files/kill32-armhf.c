/* kill32 (armhf): `kill32 PID SIG` sends SIG to PID with libc's kill(2), a 32-bit ARM (EABI)
 * program; without arguments it only exits 0 (it ran: the kernel runs 32-bit programs). Exit
 * status 0 when the kill succeeded, 1 when it failed. Built by build-image.sh with Debian's
 * cross compiler (arm-linux-gnueabihf-gcc -static) and put into the arm64 images as
 * /usr/local/libexec/fleet/kill32: on an aarch64 kernel with CONFIG_COMPAT it runs through the
 * kernel's 32-bit compat ABI (audit arch=b32, AUDIT_ARCH_ARM). */
#include <signal.h>
#include <stdlib.h>
#include <sys/types.h>

int main(int argc, char **argv) {
    if (argc < 3)
        return 0;
    return kill((pid_t)atol(argv[1]), atoi(argv[2])) == 0 ? 0 : 1;
}
