package io.ringbatch.io;

/**
 * What {@code statx(2)} says of a file, without following a final symbolic link. {@code dev} is the
 * device as {@code st_dev} has it (glibc's {@code makedev} of statx's major and minor), so that it
 * compares with what other tools print; {@code mtimeNanos} is nanoseconds since the epoch.
 */
public record Stat(long dev, long ino, int mode, long nlink, long size, long mtimeNanos) {
    static final int S_IFMT = 0170000;
    static final int S_IFREG = 0100000;
    static final int S_IFDIR = 0040000;
    static final int S_IFLNK = 0120000;
    static final int S_IFIFO = 0010000;

    public boolean isRegular() {
        return (mode & S_IFMT) == S_IFREG;
    }

    public boolean isDirectory() {
        return (mode & S_IFMT) == S_IFDIR;
    }

    public boolean isSymlink() {
        return (mode & S_IFMT) == S_IFLNK;
    }

    public boolean isFifo() {
        return (mode & S_IFMT) == S_IFIFO;
    }

    /** The file type in words, for messages: "regular file", "directory", "symbolic link", "FIFO", ... */
    public String typeName() {
        return switch (mode & S_IFMT) {
            case S_IFREG -> "regular file";
            case S_IFDIR -> "directory";
            case S_IFLNK -> "symbolic link";
            case S_IFIFO -> "FIFO";
            case 0140000 -> "socket";
            case 0020000 -> "character device";
            case 0060000 -> "block device";
            default -> "file of mode 0" + Integer.toOctalString(mode & S_IFMT);
        };
    }

    /** The basic fields of a {@code struct statx} at {@code at} in {@code s} (native order). */
    static Stat ofStatx(java.nio.ByteBuffer s, int at) {
        // nlink u32 @16, mode u16 @28, ino @32, size @40, mtime {s64, u32} @112, dev major/minor @136/140
        long mtime = s.getLong(at + 112) * 1_000_000_000L + (s.getInt(at + 120) & 0xffffffffL);
        long dev = makedev(s.getInt(at + 136) & 0xffffffffL, s.getInt(at + 140) & 0xffffffffL);
        return new Stat(dev, s.getLong(at + 32), s.getShort(at + 28) & 0xffff, s.getInt(at + 16) & 0xffffffffL,
                s.getLong(at + 40), mtime);
    }

    /** glibc's {@code makedev}: how {@code st_dev} packs statx's major and minor numbers. */
    static long makedev(long major, long minor) {
        return ((major & 0xfffff000L) << 32) | ((major & 0xfffL) << 8) | ((minor & 0xffffff00L) << 12)
                | (minor & 0xffL);
    }
}
