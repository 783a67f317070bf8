package io.ringbatch.io;

import com.sun.jna.LastErrorException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * A directory held by descriptor ({@code O_PATH}), and every lookup beneath it relative to that
 * descriptor. Checking a path and opening it later by name leaves a gap in which a writer inside the
 * tree can swap a component for a symbolic link (or a FIFO); looking up beneath a held descriptor with
 * no link followed anywhere closes it: {@code openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS)} where the kernel has it (5.6+), else one component at a time with
 * {@code O_NOFOLLOW}, which refuses the same links, one system call per component.
 * <p>
 * Relative paths are byte strings ({@link FileNames}), '/'-separated, without NUL, without "..", never
 * absolute. Only {@link #open} follows links: that is the configured path, the administrator's choice.
 */
public final class Dir implements AutoCloseable {
    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 1;
    public static final int O_RDWR = 2;
    public static final int O_CREAT = 0x40;
    public static final int O_EXCL = 0x80;
    public static final int O_TRUNC = 0x200;
    public static final int O_NONBLOCK = 0x800;
    public static final int O_DIRECTORY = Arch.supported() ? Arch.current().oDirectory : 0x10000;
    static final int O_NOFOLLOW = Arch.supported() ? Arch.current().oNofollow : 0x20000;
    static final int O_PATH = 0x200000;
    static final int O_CLOEXEC = LibC.O_CLOEXEC;
    static final int AT_REMOVEDIR = 0x200;
    static final int DT_UNKNOWN = 0;
    static final int DT_DIR = 4;
    static final int DT_REG = 8;
    static final int DT_LNK = 10;

    private static final long RESOLVE_NO_MAGICLINKS = 0x02;
    private static final long RESOLVE_NO_SYMLINKS = 0x04;
    private static final long RESOLVE_BENEATH = 0x08;
    /** What every open beneath a root resolves with (openat2's {@code how.resolve}); the ring's opens too. */
    static final long RESOLVE_CONFINED = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    static final int STATX_BASIC_STATS = 0x7ff;

    /** Scratch for one call at a time per thread: statx buffer at 0, open_how at 256, a path from 512. */
    private static final int HOW = 256;
    private static final int PATH = 512;
    private static final ThreadLocal<ByteBuffer> SCRATCH = ThreadLocal.withInitial(
            () -> ByteBuffer.allocateDirect(PATH + 4096).order(ByteOrder.nativeOrder()));
    /** getdents64's buffer: 32 KiB holds some 1,000 entries of ordinary names per call. */
    private static final ThreadLocal<ByteBuffer> DENTS = ThreadLocal.withInitial(
            () -> ByteBuffer.allocateDirect(32 * 1024).order(ByteOrder.nativeOrder()));

    private static final boolean KERNEL_OPENAT2 = probeOpenat2();

    /**
     * Test seam: called with the relative path just before {@link #openFd} opens it, so that a test can
     * swap a file for a link at exactly the worst moment. Null outside tests.
     */
    static volatile Consumer<String> beforeOpen;

    private final int fd;
    /** The path for messages ({@link FileNames#inMessage}). */
    private final String name;
    private final AtomicBoolean closed = new AtomicBoolean();

    private Dir(int fd, String name) {
        this.fd = fd;
        this.name = name;
    }

    /**
     * {@code O_PATH|O_DIRECTORY|O_CLOEXEC} on an absolute path as configured (links in it are followed:
     * the administrator's root); every later lookup is relative to this descriptor.
     */
    public static Dir open(Path absolute) throws IOException {
        if (!absolute.isAbsolute()) {
            throw new IllegalArgumentException("not an absolute path: " + FileNames.inMessage(absolute));
        }
        String name = FileNames.inMessage(absolute);
        try {
            return new Dir(LibC.openat(LibC.AT_FDCWD, FileNames.cString(FileNames.ofPath(absolute)),
                    O_PATH | O_DIRECTORY | O_CLOEXEC, 0), name);
        } catch (LastErrorException e) {
            throw failure(name, e.getErrorCode());
        }
    }

    /** A directory beneath this one; no symbolic link or magic link is followed anywhere in rel. */
    public Dir dir(String rel) throws IOException {
        return new Dir(openBeneath(rel, O_PATH | O_DIRECTORY, 0), where(rel));
    }

    /**
     * Opens rel beneath this directory with {@code flags | O_NOFOLLOW | O_CLOEXEC}, following no link
     * anywhere in it. Returns a raw descriptor the caller closes with {@link #closeFd}.
     */
    public int openFd(String rel, int flags, int mode) throws IOException {
        Consumer<String> hook = beforeOpen;
        if (hook != null) {
            hook.accept(rel);
        }
        return openBeneath(rel, flags, mode);
    }

    /** Creates the directory rel (its parent resolved beneath); EEXIST is a FileAlreadyExistsException. */
    public void mkdir(String rel, int mode) throws IOException {
        try (Parent p = parent(rel)) {
            LibC.mkdirat(p.fd, p.last, mode);
        } catch (LastErrorException e) {
            throw failure(where(rel), e.getErrorCode());
        }
    }

    /** {@code renameat}: both parents resolved beneath their directories; the last components as they are. */
    public void rename(String from, Dir toDir, String to) throws IOException {
        try (Parent src = parent(from); Parent dst = toDir.parent(to)) {
            LibC.renameat(src.fd, src.last, dst.fd, dst.last);
        } catch (LastErrorException e) {
            throw failure(where(from) + " -> " + toDir.where(to), e.getErrorCode());
        }
    }

    /** {@code unlinkat}; a directory (which must be empty) with AT_REMOVEDIR. A link itself is removed. */
    public void delete(String rel) throws IOException {
        try (Parent p = parent(rel)) {
            try {
                LibC.unlinkat(p.fd, p.last, 0);
            } catch (LastErrorException e) {
                if (e.getErrorCode() != Errno.EISDIR) {
                    throw e;
                }
                LibC.unlinkat(p.fd, p.last, AT_REMOVEDIR);
            }
        } catch (LastErrorException e) {
            throw failure(where(rel), e.getErrorCode());
        }
    }

    /**
     * Removes rel and, if it is a directory, everything in it, never following a link (a link is removed
     * as itself). Nothing to do if rel does not exist, as {@code rm -rf}.
     */
    public void deleteTree(String rel) throws IOException {
        Stat stat;
        try {
            stat = stat(rel);
        } catch (NoSuchFileException e) {
            return;
        }
        if (stat.isDirectory()) {
            try (Dir sub = dir(rel)) {
                sub.clear();
            }
        }
        delete(rel);
    }

    private void clear() throws IOException {
        for (Entry entry : list()) {
            int type = entry.type();
            if (type == DT_UNKNOWN) {
                type = stat(entry.name()).isDirectory() ? DT_DIR : DT_REG;
            }
            if (type == DT_DIR) {
                try (Dir sub = dir(entry.name())) {
                    sub.clear();
                }
            }
            delete(entry.name());
        }
    }

    /** {@code statx(AT_SYMLINK_NOFOLLOW)} of rel, its parent resolved beneath; NoSuchFileException if absent. */
    public Stat stat(String rel) throws IOException {
        try (Parent p = parent(rel)) {
            return statx(p.fd, p.last, LibC.AT_SYMLINK_NOFOLLOW, where(rel));
        }
    }

    /** {@code fstat} of this directory. */
    public Stat stat() throws IOException {
        return statx(fd, new byte[1], LibC.AT_EMPTY_PATH, name);
    }

    /** {@code fstat} of an open descriptor, for the check of what an open found. */
    public static Stat stat(int fd, String forMessages) throws IOException {
        return statx(fd, new byte[1], LibC.AT_EMPTY_PATH, forMessages);
    }

    /** The entries of this directory ({@code getdents64}), without "." and "..", in the kernel's order. */
    public List<Entry> list() throws IOException {
        int rfd;
        try {
            rfd = LibC.openat(fd, new byte[] {'.', 0}, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        } catch (LastErrorException e) {
            throw failure(name, e.getErrorCode());
        }
        try {
            List<Entry> entries = new ArrayList<>();
            ByteBuffer buf = DENTS.get();
            long address = LibC.address(buf);
            while (true) {
                long n;
                try {
                    n = LibC.syscall(Arch.current().sysGetdents64, rfd, address, buf.capacity(), 0, 0, 0);
                } catch (LastErrorException e) {
                    throw failure(name, e.getErrorCode());
                }
                if (n == 0) {
                    return entries;
                }
                // struct linux_dirent64: d_ino u64, d_off s64, d_reclen u16, d_type u8, d_name NUL-terminated
                for (int at = 0; at < n; ) {
                    int reclen = buf.getShort(at + 16) & 0xffff;
                    int type = buf.get(at + 18) & 0xff;
                    int start = at + 19;
                    int end = start;
                    while (buf.get(end) != 0) {
                        end++;
                    }
                    byte[] raw = new byte[end - start];
                    buf.get(start, raw);
                    boolean dots = (raw.length == 1 && raw[0] == '.') || (raw.length == 2 && raw[0] == '.' && raw[1] == '.');
                    if (!dots) {
                        entries.add(new Entry(FileNames.of(raw), type));
                    }
                    at += reclen;
                }
            }
        } finally {
            closeFd(rfd);
        }
    }

    /**
     * Where this directory is now, as the kernel resolves its descriptor ({@code /proc/self/fd/N}), as a
     * byte string: a directory renamed or swapped since it was opened shows its new place here.
     */
    public String resolvedPath() throws IOException {
        byte[] buf = new byte[4097];
        try {
            long n = LibC.readlinkat(LibC.AT_FDCWD, FileNames.cString("/proc/self/fd/" + fd), buf, buf.length);
            if (n >= buf.length) {
                throw new IOException(name + ": its path is longer than 4096 bytes");
            }
            return FileNames.of(java.util.Arrays.copyOf(buf, (int) n));
        } catch (LastErrorException e) {
            throw failure("/proc/self/fd/" + fd + " (" + name + ")", e.getErrorCode());
        }
    }

    public int fd() {
        return fd;
    }

    /** The path for messages: as configured, then the relative names beneath it ({@link FileNames#inMessage}). */
    public String name() {
        return name;
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            closeFd(fd);
        }
    }

    public static void closeFd(int fd) {
        try {
            LibC.close(fd);
        } catch (LastErrorException ignored) {
            // the descriptor is released either way (close(2): never retry)
        }
    }

    /**
     * "/proc/self/fd/N": Java I/O on an opened descriptor ({@code FileChannel.open}) reopens that same
     * inode through this magic link, never the path, so it is safe after a checked open.
     */
    public static Path procPath(int fd) {
        return Path.of("/proc/self/fd/" + fd);
    }

    /**
     * Whether openat2 is used: the kernel has it and the system property {@code ringbatch.io.openat2} is
     * not "false" (read on every call, so that tests can prove the O_NOFOLLOW path too).
     */
    public static boolean openat2() {
        return KERNEL_OPENAT2 && !"false".equalsIgnoreCase(System.getProperty("ringbatch.io.openat2"));
    }

    /** A directory entry: its name as a byte string and its DT_* type (DT_UNKNOWN: the caller stats). */
    public record Entry(String name, int type) {
        public boolean isDirectory() {
            return type == DT_DIR;
        }

        public boolean isRegular() {
            return type == DT_REG;
        }

        public boolean isSymlink() {
            return type == DT_LNK;
        }

        public boolean isUnknown() {
            return type == DT_UNKNOWN;
        }
    }

    private String where(String rel) {
        return name + "/" + FileNames.inMessage(rel);
    }

    /** Refuses what could leave the directory before any system call sees it. */
    private void check(String rel) throws IOException {
        String why = null;
        if (rel.isEmpty() || rel.charAt(0) == '/') {
            why = "not a relative path";
        } else if (rel.indexOf('\0') >= 0) {
            why = "NUL in a name";
        } else {
            for (String component : rel.split("/", -1)) {
                if (component.equals("..")) {
                    why = "\"..\" is not allowed beneath a root";
                }
            }
        }
        if (why != null) {
            throw new IOException(name + ": \"" + FileNames.inMessage(rel) + "\": " + why + ", refused");
        }
    }

    /**
     * What an open of rel beneath this directory through the ring needs done first (io_uring's
     * {@code IORING_OP_OPENAT2} with {@link #RESOLVE_CONFINED}): the same refusals as {@link #openFd}, and
     * the test seam. The flags the ring must use are {@code flags | O_NOFOLLOW | O_CLOEXEC}.
     */
    void beforeRingOpen(String rel) throws IOException {
        Consumer<String> hook = beforeOpen;
        if (hook != null) {
            hook.accept(rel);
        }
        check(rel);
    }

    /** The path of rel beneath this directory, for messages. */
    String display(String rel) {
        return where(rel);
    }

    private int openBeneath(String rel, int flags, int mode) throws IOException {
        check(rel);
        int all = flags | O_NOFOLLOW | O_CLOEXEC;
        // openat2 refuses a mode without O_CREAT (EINVAL); plain openat ignores it
        int how = (flags & O_CREAT) != 0 ? mode : 0;
        try {
            return openat2() ? openat2(fd, rel, all, how) : openByComponents(fd, rel, all, how);
        } catch (LastErrorException e) {
            throw failure(where(rel), e.getErrorCode());
        }
    }

    private static int openat2(int dirfd, String rel, int flags, int mode) {
        ByteBuffer s = SCRATCH.get();
        byte[] path = FileNames.cString(rel);
        if (path.length > s.capacity() - PATH) {
            throw new LastErrorException(36); // ENAMETOOLONG: over PATH_MAX, as the kernel would say
        }
        s.put(PATH, path);
        // struct open_how { u64 flags; u64 mode; u64 resolve; }
        s.putLong(HOW, flags & 0xffffffffL);
        s.putLong(HOW + 8, mode);
        s.putLong(HOW + 16, RESOLVE_CONFINED);
        long base = LibC.address(s);
        for (int attempt = 0; ; attempt++) {
            try {
                return (int) LibC.syscall(Arch.current().sysOpenat2, dirfd, base + PATH, base + HOW, 24, 0, 0);
            } catch (LastErrorException e) {
                // EAGAIN: a rename raced the lookup and the kernel could not vouch for it; try again
                if (e.getErrorCode() != Errno.EAGAIN || attempt == 8) {
                    throw e;
                }
            }
        }
    }

    /** The kernels before 5.6: every directory component with O_NOFOLLOW|O_DIRECTORY, the last with O_NOFOLLOW. */
    private static int openByComponents(int dirfd, String rel, int flags, int mode) {
        List<String> parts = new ArrayList<>();
        for (String component : rel.split("/")) {
            if (!component.isEmpty() && !component.equals(".")) {
                parts.add(component);
            }
        }
        if (parts.isEmpty()) {
            return LibC.openat(dirfd, new byte[] {'.', 0}, flags, mode);
        }
        int cur = dirfd;
        try {
            for (int i = 0; i < parts.size() - 1; i++) {
                int next = LibC.openat(cur, FileNames.cString(parts.get(i)), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
                if (cur != dirfd) {
                    closeFd(cur);
                }
                cur = next;
            }
            return LibC.openat(cur, FileNames.cString(parts.get(parts.size() - 1)), flags, mode);
        } finally {
            if (cur != dirfd) {
                closeFd(cur);
            }
        }
    }

    /** The parent of rel opened beneath (or this directory itself), and rel's last component. */
    private Parent parent(String rel) throws IOException {
        check(rel);
        String trimmed = rel;
        while (trimmed.length() > 1 && trimmed.endsWith("/")) {
            trimmed = trimmed.substring(0, trimmed.length() - 1);
        }
        int slash = trimmed.lastIndexOf('/');
        String last = trimmed.substring(slash + 1);
        if (last.equals(".")) {
            throw new IllegalArgumentException("\".\" as the last component of " + FileNames.inMessage(rel));
        }
        if (slash < 0) {
            return new Parent(fd, false, FileNames.cString(last));
        }
        return new Parent(openBeneath(trimmed.substring(0, slash), O_PATH | O_DIRECTORY, 0), true, FileNames.cString(last));
    }

    private record Parent(int fd, boolean owned, byte[] last) implements AutoCloseable {
        @Override
        public void close() {
            if (owned) {
                closeFd(fd);
            }
        }
    }

    private static Stat statx(int dirfd, byte[] path, int flags, String forMessages) throws IOException {
        ByteBuffer s = SCRATCH.get();
        if (path.length > s.capacity() - PATH) {
            throw failure(forMessages, 36);
        }
        s.put(PATH, path);
        long base = LibC.address(s);
        try {
            LibC.syscall(Arch.current().sysStatx, dirfd, base + PATH, flags, STATX_BASIC_STATS, base, 0);
        } catch (LastErrorException e) {
            throw failure(forMessages, e.getErrorCode());
        }
        return Stat.ofStatx(s, 0);
    }

    /** An errno as the exception java.nio.file would throw, with the path and, for links, why. */
    static IOException failure(String path, int errno) {
        return switch (errno) {
            case Errno.ENOENT -> new NoSuchFileException(path, null, Errno.describe(errno));
            case 17 -> new FileAlreadyExistsException(path, null, Errno.describe(errno));
            case Errno.EACCES, Errno.EPERM -> new AccessDeniedException(path, null, Errno.describe(errno));
            case Errno.ELOOP -> new IOException(path + ": a symbolic link is in the way, and links are not followed"
                    + " beneath a root: " + Errno.describe(errno));
            case 18 -> new IOException(path + ": leads outside its root, refused: " + Errno.describe(errno));
            case Errno.ENOTDIR -> new NotDirectoryException(path + ": a component is not a directory (or is a"
                    + " symbolic link, which is not followed beneath a root): " + Errno.describe(errno));
            default -> new IOException(path + ": " + Errno.describe(errno));
        };
    }

    private static boolean probeOpenat2() {
        if (!Arch.supported()) {
            return false;
        }
        try {
            int probe = openat2(LibC.AT_FDCWD, ".", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
            closeFd(probe);
            return true;
        } catch (LastErrorException e) {
            // ENOSYS before 5.6; EPERM where an older seccomp profile does not know the call; anything
            // else (say, EACCES on the working directory) came from a kernel that has it
            return e.getErrorCode() != Errno.ENOSYS && e.getErrorCode() != Errno.EPERM;
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            return false;
        }
    }
}
