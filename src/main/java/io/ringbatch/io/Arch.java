package io.ringbatch.io;

import java.util.Locale;

/**
 * The Linux ABI facts that differ between the architectures ringbatch supports. io_uring's syscall
 * numbers are the same on x86_64 and aarch64 (the generic table); {@code O_DIRECT} and friends are not.
 */
public enum Arch {
    X86_64(425, 426, 427, 332, 0x4000, 0x10000, 0x20000, 437, 217, 316),
    AARCH64(425, 426, 427, 291, 0x10000, 0x4000, 0x8000, 437, 61, 276);

    public final long sysIoUringSetup;
    public final long sysIoUringEnter;
    public final long sysIoUringRegister;
    public final long sysStatx;
    public final int oDirect;
    public final int oDirectory;
    public final int oNofollow;
    /** openat2 (Linux 5.6) has the same number on both; getdents64 and renameat2 do not. */
    public final long sysOpenat2;
    public final long sysGetdents64;
    public final long sysRenameat2;

    Arch(long setup, long enter, long register, long statx, int oDirect, int oDirectory, int oNofollow,
            long openat2, long getdents64, long renameat2) {
        this.sysIoUringSetup = setup;
        this.sysIoUringEnter = enter;
        this.sysIoUringRegister = register;
        this.sysStatx = statx;
        this.oDirect = oDirect;
        this.oDirectory = oDirectory;
        this.oNofollow = oNofollow;
        this.sysOpenat2 = openat2;
        this.sysGetdents64 = getdents64;
        this.sysRenameat2 = renameat2;
    }

    private static final Arch CURRENT = detect(System.getProperty("os.name", ""), System.getProperty("os.arch", ""));

    /** The running architecture, or an {@link UnsupportedOperationException} that names what was found. */
    public static Arch current() {
        if (CURRENT == null) {
            throw new UnsupportedOperationException("io_uring engine needs Linux on x86_64 or aarch64, found "
                    + System.getProperty("os.name") + " on " + System.getProperty("os.arch"));
        }
        return CURRENT;
    }

    /** Whether {@link #current()} would succeed. */
    public static boolean supported() {
        return CURRENT != null;
    }

    static Arch detect(String osName, String osArch) {
        if (!osName.toLowerCase(Locale.ROOT).startsWith("linux")) {
            return null;
        }
        return switch (osArch.toLowerCase(Locale.ROOT)) {
            case "amd64", "x86_64" -> X86_64;
            case "aarch64", "arm64" -> AARCH64;
            default -> null;
        };
    }
}
