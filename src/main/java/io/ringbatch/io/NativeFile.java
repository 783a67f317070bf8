package io.ringbatch.io;

import com.sun.jna.LastErrorException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * A file opened with {@code openat(2)} for the io_uring engine. It is opened non-blocking (so that a
 * FIFO cannot hang the open), checked with {@code statx(2)} to be a regular file, and then switched to
 * blocking, O_DIRECT or not, with {@code fcntl(F_SETFL)}. O_DIRECT is kept only where the file system
 * accepts it; its alignment comes from {@code STATX_DIOALIGN} (Linux 6.1), else the page size.
 */
final class NativeFile extends OpenFile {
    private static final int STATX_BASIC_STATS = 0x7ff;
    private static final int STATX_DIOALIGN = 0x2000;
    private static final int STATX_SIZE_OF = 256;
    private static final int STX_MASK = 0;
    private static final int STX_MODE = 28;
    private static final int STX_SIZE = 40;
    private static final int STX_DIO_MEM_ALIGN = 152;
    private static final int STX_DIO_OFFSET_ALIGN = 156;
    private static final int S_IFMT = 0170000;
    private static final int S_IFREG = 0100000;
    private static final int S_IFDIR = 0040000;

    private static final ThreadLocal<ByteBuffer> STATX = ThreadLocal.withInitial(
            () -> ByteBuffer.allocateDirect(STATX_SIZE_OF + 8).order(ByteOrder.nativeOrder()));

    final int fd;
    private boolean closed;

    private NativeFile(Path path, int fd, long size, boolean direct, int align) {
        super(path, size, direct, align);
        this.fd = fd;
    }

    static NativeFile open(Path path, boolean wantDirect) throws IOException {
        byte[] name = cString(path);
        int fd;
        try {
            fd = LibC.openat(LibC.AT_FDCWD, name, LibC.O_RDONLY | LibC.O_CLOEXEC | LibC.O_NONBLOCK, 0);
        } catch (LastErrorException e) {
            throw new IOException(path + ": cannot open: " + Errno.describe(e.getErrorCode()));
        }
        try {
            Arch arch = Arch.current();
            ByteBuffer stx = STATX.get();
            stx.putInt(STX_MASK, 0);
            stx.put(STATX_SIZE_OF, (byte) 0); // the empty path for AT_EMPTY_PATH
            long pathAddr = LibC.address(stx) + STATX_SIZE_OF;
            try {
                LibC.syscall(arch.sysStatx, fd, pathAddr, LibC.AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_DIOALIGN,
                        LibC.address(stx), 0);
            } catch (LastErrorException e) {
                throw new IOException(path + ": cannot stat: " + Errno.describe(e.getErrorCode()));
            }
            int mode = stx.getShort(STX_MODE) & 0xffff;
            if ((mode & S_IFMT) == S_IFDIR) {
                throw new IOException(path + ": is a directory: " + Errno.describe(Errno.EISDIR));
            }
            if ((mode & S_IFMT) != S_IFREG) {
                throw new IOException(path + ": not a regular file (mode 0" + Integer.toOctalString(mode & S_IFMT)
                        + "); only regular files are read");
            }
            long size = stx.getLong(STX_SIZE);
            boolean direct = false;
            int align = 1;
            if (wantDirect) {
                int memAlign = BufferPool.PAGE;
                int offsetAlign = BufferPool.PAGE;
                boolean known = (stx.getInt(STX_MASK) & STATX_DIOALIGN) != 0;
                if (known) {
                    memAlign = stx.getInt(STX_DIO_MEM_ALIGN);
                    offsetAlign = stx.getInt(STX_DIO_OFFSET_ALIGN);
                }
                boolean possible = !known || (offsetAlign > 0 && memAlign > 0 && memAlign <= BufferPool.PAGE
                        && offsetAlign <= BufferPool.PAGE);
                if (possible && setFlags(fd, arch.oDirect)) {
                    direct = true;
                    align = Math.max(offsetAlign, 512);
                }
            }
            if (!direct) {
                setFlags(fd, 0);
                LibC.posix_fadvise(fd, 0, 0, LibC.POSIX_FADV_SEQUENTIAL);
            }
            return new NativeFile(path, fd, size, direct, align);
        } catch (IOException | RuntimeException e) {
            closeFd(fd);
            throw e;
        }
    }

    /** Sets the file status flags (clearing O_NONBLOCK); false where the file system refuses them. */
    private static boolean setFlags(int fd, int flags) throws IOException {
        try {
            LibC.fcntl(fd, LibC.F_SETFL, flags);
            return true;
        } catch (LastErrorException e) {
            if (e.getErrorCode() == Errno.EINVAL && flags != 0) {
                return false;
            }
            throw new IOException("fcntl(F_SETFL) failed: " + Errno.describe(e.getErrorCode()));
        }
    }

    static byte[] cString(Path path) {
        String encoding = System.getProperty("sun.jnu.encoding", "UTF-8");
        byte[] text = path.toAbsolutePath().toString().getBytes(java.nio.charset.Charset.forName(encoding));
        byte[] z = new byte[text.length + 1];
        System.arraycopy(text, 0, z, 0, text.length);
        return z;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            closeFd(fd);
        }
    }

    private static void closeFd(int fd) {
        try {
            LibC.close(fd);
        } catch (LastErrorException ignored) {
            // the descriptor is released either way
        }
    }
}
