package io.ringbatch.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * An input file as an engine opens it: a name beneath a directory held by descriptor, opened with
 * {@link Dir#openFd} (no link followed anywhere, {@code O_NONBLOCK} so that a FIFO swapped in cannot
 * hang the open), then checked on the opened descriptor, which is what will be read: a regular file,
 * and, where the plan gave one, the same file it planned (inode, size, modification time, device).
 * Checking the descriptor rather than the name leaves no gap between the check and the read.
 */
public final class InputFile {
    /** The root held by descriptor, or null for a file named by path (its directory is opened per open). */
    private final Dir root;
    private final Path directory;
    private final String rel;
    private final Expected expected;

    /**
     * What the plan saw. {@code dev} is compared only when not -1: the planning instance passes it, the
     * others -1 (NFS clients number the same export's device differently). With {@code singleLink} a
     * file with more than one hard link is refused: another of its names may lie outside the root.
     * {@code ino} -1: planned by a release that recorded no inode and the modification time in whole
     * milliseconds (a job's plan.json from before an upgrade): size and that time are compared, to the
     * millisecond.
     */
    public record Expected(long size, long mtimeNanos, long ino, long dev, boolean singleLink) {
        boolean legacy() {
            return ino == -1;
        }
    }

    private InputFile(Dir root, Path directory, String rel, Expected expected) {
        this.root = root;
        this.directory = directory;
        this.rel = rel;
        this.expected = expected;
    }

    /** rel (a byte string) beneath root; expected may be null (only "a regular file" is checked). */
    public static InputFile beneath(Dir root, String rel, Expected expected) {
        return new InputFile(root, null, rel, expected);
    }

    /**
     * A file named by an absolute path (tools and tests): its directory as given (links in it followed,
     * as for a configured root), the file itself not followed if it is a link.
     */
    public static InputFile of(Path path) {
        Path absolute = path.toAbsolutePath();
        Path parent = absolute.getParent();
        if (parent == null || absolute.getFileName() == null) {
            throw new IllegalArgumentException(FileNames.inMessage(absolute) + ": not a file's path");
        }
        String name = FileNames.ofPath(absolute.getFileName());
        return new InputFile(null, parent, name, null);
    }

    /** The path for messages: the root as configured and the relative name ({@link FileNames#inMessage}). */
    public String name() {
        String n = name;
        if (n == null) {
            // made once: each open names its file for messages several times
            n = (root != null ? root.name() : FileNames.inMessage(directory)) + "/" + FileNames.inMessage(rel);
            name = n;
        }
        return n;
    }

    private String name;

    /** Opens and checks; the caller owns the returned descriptor. */
    Opened open() throws IOException {
        Dir dir = root != null ? root : Dir.open(directory);
        try {
            int fd = dir.openFd(rel, Dir.O_RDONLY | Dir.O_NONBLOCK, 0);
            try {
                Stat stat = Dir.stat(fd, name());
                check(stat);
                return new Opened(fd, stat);
            } catch (IOException | RuntimeException e) {
                Dir.closeFd(fd);
                throw e;
            }
        } finally {
            if (dir != root) {
                dir.close();
            }
        }
    }

    record Opened(int fd, Stat stat) {
    }

    /** The root held by descriptor, or null for a file named by path. */
    Dir root() {
        return root;
    }

    /** The name beneath the root (a byte string). */
    String rel() {
        return rel;
    }

    /**
     * A descriptor opened elsewhere (the io_uring engine's {@code IORING_OP_OPENAT2} beneath {@link #root},
     * with the same confinement as {@link Dir#openFd}) and {@code statx} of that descriptor: checked as
     * {@link #open} checks. On failure the caller still owns the descriptor.
     */
    Opened adopt(int fd, Stat stat) throws IOException {
        check(stat);
        return new Opened(fd, stat);
    }

    /** Whether both name the same file beneath the same root object. */
    boolean sameFile(InputFile other) {
        return other != null && root != null && root == other.root && rel.equals(other.rel);
    }

    /** Checks the descriptor {@code fd}, opened from this file earlier, again: a {@code statx} of it. */
    void recheck(int fd) throws IOException {
        check(Dir.stat(fd, name()));
    }

    /** Whether both name the same file beneath the same root object and expect the same of it. */
    boolean sameAs(InputFile other) {
        return sameFile(other) && java.util.Objects.equals(expected, other.expected);
    }

    private void check(Stat now) throws IOException {
        if (now.isDirectory()) {
            throw new IOException(name() + ": is a directory: " + Errno.describe(Errno.EISDIR));
        }
        if (!now.isRegular()) {
            throw new IOException(name() + ": not a regular file (a " + now.typeName() + " now); only regular files"
                    + " are read");
        }
        if (expected == null) {
            return;
        }
        if (!expected.legacy() && (now.ino() != expected.ino()
                || (expected.dev() != -1 && now.dev() != expected.dev()))) {
            throw new IOException(name() + ": changed while the job ran: another file now has its name (inode "
                    + expected.ino() + " -> " + now.ino() + ")");
        }
        boolean sameTime = expected.legacy()
                ? Math.floorDiv(now.mtimeNanos(), 1_000_000L) == Math.floorDiv(expected.mtimeNanos(), 1_000_000L)
                : now.mtimeNanos() == expected.mtimeNanos();
        if (now.size() != expected.size() || !sameTime) {
            throw new IOException(name() + ": changed while the job ran (size " + expected.size() + " -> "
                    + now.size() + ", modified " + expected.mtimeNanos() + " -> " + now.mtimeNanos() + " ns)");
        }
        if (expected.singleLink() && now.nlink() > 1) {
            throw new IOException(name() + ": has " + now.nlink() + " hard links; another name of it may lie outside"
                    + " the input root, and ringbatch reads only files with one link unless"
                    + " ringbatch.input.allow-hard-links=true");
        }
    }
}
