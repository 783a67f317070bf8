package io.ringbatch.operation;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;
import io.ringbatch.io.Dir;
import io.ringbatch.io.FileNames;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Writing outputs into the merge's staging directory by descriptor: every name is a byte string
 * relative to the staging directory ('/'-separated, see {@link FileNames}), resolved beneath it by
 * {@link Dir} (no '..', no symbolic link followed anywhere), so a link planted in the staging tree
 * cannot redirect a write. Files get mode 0666 and directories 0777, less the umask, as
 * {@code Files.newOutputStream} and {@code Files.createDirectories} gave them.
 */
public final class StagingFiles {
    private static final int FILE_MODE = 0666;
    private static final int DIR_MODE = 0777;

    /** A piece's own output file (in the job's work files), opened read-only; -1 when it does not exist. */
    @FunctionalInterface
    public interface PieceOutputs {
        int open(int pieceIndex) throws IOException;
    }

    private final Dir held;
    private final Path path;
    private final PieceOutputs pieces;

    private StagingFiles(Dir held, Path path, PieceOutputs pieces) {
        this.held = held;
        this.path = path;
        this.pieces = pieces;
    }

    /** On a staging directory the caller holds open (and closes). */
    public static StagingFiles of(Dir staging, PieceOutputs pieces) {
        return new StagingFiles(staging, null, pieces);
    }

    /**
     * On a staging directory given by path, opened for each call (for a {@link MergeInput} outside the
     * pipeline, as tests make them); the piece outputs by path too.
     */
    public static StagingFiles atPath(Path staging, java.util.function.IntFunction<Path> pieceOutput) {
        return new StagingFiles(null, staging, piece -> {
            Path file = pieceOutput.apply(piece);
            try (Dir parent = Dir.open(file.toAbsolutePath().getParent())) {
                return parent.openFd(FileNames.ofText(file.getFileName().toString()), Dir.O_RDONLY, 0);
            } catch (NoSuchFileException e) {
                return -1;
            }
        });
    }

    /** A new (or truncated) output file {@code name}, its parent directories made. */
    public MergeOutput output(String name) throws IOException {
        return new MergeOutput(create(name));
    }

    /** A new (or truncated) output file {@code name} as a stream; the caller buffers it. */
    public OutputStream stream(String name) throws IOException {
        return Channels.newOutputStream(create(name));
    }

    /** Creates {@code name} empty, replacing an existing file. */
    public void empty(String name) throws IOException {
        create(name).close();
    }

    /**
     * Puts a piece's output file at {@code name} without copying its bytes: a hard link (the piece's
     * file stays where it is, so that the merge can run again after a crash), else a copy when the file
     * system refuses links (another file system, say). An existing file {@code name} is replaced; a
     * piece without an output gives an empty file.
     */
    public void place(int pieceIndex, String name) throws IOException {
        String[] parts = split(name);
        int src = pieces.open(pieceIndex);
        if (src < 0) {
            empty(name);
            return;
        }
        Dir root = dir();
        Dir parent = null;
        try {
            parent = parent(root, parts[0]);
            try {
                parent.delete(parts[1]);
            } catch (NoSuchFileException absent) {
                // nothing to replace
            }
            try {
                // the opened file's inode, by its /proc/self/fd magic link: linkat(2) follows it with
                // AT_SYMLINK_FOLLOW and needs no privilege (AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH)
                Link.linkat(AT_FDCWD, FileNames.cString(Dir.procPath(src).toString()), parent.fd(),
                        FileNames.cString(parts[1]), AT_SYMLINK_FOLLOW);
                return;
            } catch (LastErrorException | UnsatisfiedLinkError e) {
                // EXDEV, EPERM, EMLINK...: copy instead
            }
            try (FileChannel in = FileChannel.open(Dir.procPath(src), StandardOpenOption.READ);
                 FileChannel out = open(parent, parts[1])) {
                copy(in, out);
            }
        } finally {
            Dir.closeFd(src);
            if (parent != root && parent != null) {
                parent.close();
            }
            done(root);
        }
    }

    /** Writes the concatenation of the pieces' outputs to {@code name} (replacing it), kernel to kernel. */
    public void concatenate(List<Integer> pieceIndexes, String name) throws IOException {
        try (FileChannel out = create(name)) {
            for (int piece : pieceIndexes) {
                int src = pieces.open(piece);
                if (src < 0) {
                    continue;
                }
                try (FileChannel in = FileChannel.open(Dir.procPath(src), StandardOpenOption.READ)) {
                    copy(in, out);
                } finally {
                    Dir.closeFd(src);
                }
            }
        }
    }

    private FileChannel create(String name) throws IOException {
        String[] parts = split(name);
        Dir root = dir();
        Dir parent = null;
        try {
            parent = parent(root, parts[0]);
            return open(parent, parts[1]);
        } finally {
            if (parent != root && parent != null) {
                parent.close();
            }
            done(root);
        }
    }

    private static FileChannel open(Dir parent, String leaf) throws IOException {
        int fd = parent.openFd(leaf, Dir.O_WRONLY | Dir.O_CREAT | Dir.O_TRUNC, FILE_MODE);
        try {
            // reopens the inode just opened (never the path): Java I/O from here on
            return FileChannel.open(Dir.procPath(fd), StandardOpenOption.WRITE);
        } finally {
            Dir.closeFd(fd);
        }
    }

    private static void copy(FileChannel in, FileChannel out) throws IOException {
        long size = in.size();
        long pos = 0;
        while (pos < size) {
            long n = in.transferTo(pos, size - pos, out);
            if (n <= 0) {
                throw new IOException("could not copy a piece's output at offset " + pos);
            }
            pos += n;
        }
    }

    /** The parent directory of an output (made as needed, beneath the staging directory): root itself or new. */
    private static Dir parent(Dir root, String parentRel) throws IOException {
        if (parentRel.isEmpty()) {
            return root;
        }
        mkdirs(root, parentRel, DIR_MODE);
        return root.dir(parentRel);
    }

    /** Makes {@code rel} and its missing parents beneath {@code root}; existing directories are fine. */
    public static void mkdirs(Dir root, String rel, int mode) throws IOException {
        int at = 0;
        while (at >= 0) {
            int slash = rel.indexOf('/', at);
            String prefix = slash < 0 ? rel : rel.substring(0, slash);
            try {
                root.mkdir(prefix, mode);
            } catch (FileAlreadyExistsException exists) {
                // made earlier; whether it is a directory (and no link) shows when it is opened
            }
            at = slash < 0 ? -1 : slash + 1;
        }
    }

    /**
     * {parent, leaf} of an output's relative name, refusing a name that would leave the staging directory
     * (absolute, '..', '.', empty segments, NUL).
     */
    static String[] split(String name) throws IOException {
        if (name.isEmpty() || name.indexOf('\0') >= 0) {
            throw new IOException("output path is empty or holds a NUL byte: " + FileNames.inMessage(name));
        }
        for (String segment : name.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                throw new IOException("output path leaves the output directory: " + FileNames.inMessage(name));
            }
        }
        int slash = name.lastIndexOf('/');
        return new String[] {slash < 0 ? "" : name.substring(0, slash), name.substring(slash + 1)};
    }

    private Dir dir() throws IOException {
        return held != null ? held : Dir.open(path.toAbsolutePath());
    }

    private void done(Dir dir) {
        if (dir != held) {
            dir.close();
        }
    }

    private static final int AT_FDCWD = -100;
    private static final int AT_SYMLINK_FOLLOW = 0x400;

    /** linkat(2), which {@link Dir} does not bind. */
    private static final class Link {
        static {
            Native.register(Link.class, NativeLibrary.getInstance(Platform.C_LIBRARY_NAME));
        }

        static native int linkat(int olddirfd, byte[] oldpath, int newdirfd, byte[] newpath, int flags)
                throws LastErrorException;
    }
}
