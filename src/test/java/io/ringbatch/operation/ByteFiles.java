package io.ringbatch.operation;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;
import io.ringbatch.io.FileNames;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Files named by byte strings (see {@link FileNames}), for tests. {@code java.nio.file} encodes names
 * with {@code sun.jnu.encoding}: under UTF-8 it cannot create a name that is not UTF-8, and under
 * {@code LANG=C} not even a UTF-8 one. So names go to libc as bytes ({@code open}, {@code mkdir} through
 * JNA), and the bytes of a file opened so are read and written through {@code /proc/self/fd/N}, which
 * reopens that same file.
 */
final class ByteFiles {
    private static final int O_RDONLY = 0;
    private static final int O_WRONLY = 1;
    private static final int O_CREAT = 0100;
    private static final int O_TRUNC = 01000;
    private static final int O_CLOEXEC = 02000000;
    private static final int EEXIST = 17;

    static {
        Native.register(ByteFiles.class, NativeLibrary.getInstance(Platform.C_LIBRARY_NAME));
    }

    private ByteFiles() {
    }

    private static native int open(byte[] path, int flags, int mode) throws LastErrorException;

    private static native int mkdir(byte[] path, int mode) throws LastErrorException;

    private static native int close(int fd) throws LastErrorException;

    /** {@code root/relative} as NUL-terminated bytes; {@code root} is an ordinary (ASCII) temporary directory. */
    private static byte[] path(Path root, String relative) {
        return FileNames.cString(FileNames.ofText(root.toAbsolutePath().toString()) + "/" + relative);
    }

    /** Writes {@code bytes} to {@code root/relative} (a byte string), creating the parent directories. */
    static void write(Path root, String relative, byte[] bytes) throws IOException {
        for (int slash = relative.indexOf('/'); slash > 0; slash = relative.indexOf('/', slash + 1)) {
            try {
                mkdir(path(root, relative.substring(0, slash)), 0755);
            } catch (LastErrorException e) {
                if (e.getErrorCode() != EEXIST) {
                    throw new IOException("mkdir " + FileNames.display(relative.substring(0, slash)) + ": " + e, e);
                }
            }
        }
        int fd = open(root, relative, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC);
        try (FileChannel out = FileChannel.open(proc(fd), StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) {
                out.write(b);
            }
        } finally {
            close(fd);
        }
    }

    /** The bytes of {@code root/relative} (a byte string). */
    static byte[] read(Path root, String relative) throws IOException {
        int fd = open(root, relative, O_RDONLY | O_CLOEXEC);
        try {
            return Files.readAllBytes(proc(fd));
        } finally {
            close(fd);
        }
    }

    /** The regular files under {@code dir}, as byte strings relative to it, in byte order. */
    static List<String> list(Path dir) throws IOException {
        byte[] out = RefTools.run(dir, List.of("find", ".", "-type", "f", "-print0"));
        List<String> names = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < out.length; i++) {
            if (out[i] == 0) {
                // "./name"
                names.add(FileNames.of(java.util.Arrays.copyOfRange(out, start + 2, i)));
                start = i + 1;
            }
        }
        names.sort(FileNames.ORDER);
        return names;
    }

    private static int open(Path root, String relative, int flags) throws IOException {
        try {
            return open(path(root, relative), flags, 0644);
        } catch (LastErrorException e) {
            throw new IOException("open " + FileNames.display(relative) + ": " + e, e);
        }
    }

    private static Path proc(int fd) {
        return Path.of("/proc/self/fd/" + fd);
    }
}
