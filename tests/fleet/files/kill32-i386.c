/* kill32 (i386): `kill32 PID SIG` sends SIG to PID through the i386 int 0x80 ABI; without
 * arguments it only exits 0 (it ran: the kernel runs 32-bit programs). Exit status 0 when the
 * kill succeeded, 1 when it failed. No libc (no multilib needed): built by build-image.sh with
 * gcc -m32 -nostdlib -static and put into the x86_64 images as /usr/local/libexec/fleet/kill32. */
static long sys3(long n, long a, long b, long c) {
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c) : "memory");
    return r;
}
static long num(const char *s) {
    long v = 0, neg = 0;
    if (*s == '-') { neg = 1; s++; }
    while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0');
    return neg ? -v : v;
}
__attribute__((force_align_arg_pointer)) void start_c(long *sp) {
    long argc = sp[0], r = 0;
    char **argv = (char **)(sp + 1);
    if (argc >= 3) r = sys3(37 /* kill */, num(argv[1]), num(argv[2]), 0);
    sys3(1 /* exit */, r < 0 ? 1 : 0, 0, 0);
    for (;;) ;
}
__asm__(".globl _start\n_start:\n mov %esp, %eax\n push %eax\n call start_c\n");
