package io.ringbatch.io;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;
import java.nio.ByteBuffer;

/**
 * The few libc entry points the engine needs, bound by JNA direct mapping ({@link Native#register}):
 * primitive arguments only, no per-call marshalling. io_uring has no libc wrapper, so its three calls
 * go through {@code syscall(2)} with the architecture's numbers (see {@link Arch}). Every call that
 * fails throws {@link LastErrorException} carrying errno; callers turn it into a message with
 * {@link Errno#describe}.
 */
final class LibC {
    static final int O_RDONLY = 0;
    static final int O_NONBLOCK = 0x800;
    static final int O_CLOEXEC = 0x80000;
    static final int AT_FDCWD = -100;
    static final int AT_EMPTY_PATH = 0x1000;
    static final int AT_SYMLINK_NOFOLLOW = 0x100;
    static final int F_SETFL = 4;

    static final int PROT_READ = 0x1;
    static final int PROT_WRITE = 0x2;
    static final int MAP_SHARED = 0x01;
    static final int MAP_POPULATE = 0x8000;
    static final long MAP_FAILED = -1L;

    static final int POSIX_FADV_SEQUENTIAL = 2;

    static {
        Native.register(LibC.class, NativeLibrary.getInstance(Platform.C_LIBRARY_NAME));
    }

    private LibC() {
    }

    /** {@code long syscall(long number, ...)}: six integer arguments, the most any call here takes. */
    static native long syscall(long number, long a1, long a2, long a3, long a4, long a5, long a6)
            throws LastErrorException;

    static native long mmap(long addr, long length, int prot, int flags, int fd, long offset)
            throws LastErrorException;

    static native int munmap(long addr, long length) throws LastErrorException;

    /** {@code openat(dirfd, path, flags, mode)}; {@code path} is NUL-terminated bytes. */
    static native int openat(int dirfd, byte[] path, int flags, int mode) throws LastErrorException;

    static native int close(int fd) throws LastErrorException;

    static native int mkdirat(int dirfd, byte[] path, int mode) throws LastErrorException;

    static native int renameat(int olddirfd, byte[] oldpath, int newdirfd, byte[] newpath) throws LastErrorException;

    static native int unlinkat(int dirfd, byte[] path, int flags) throws LastErrorException;

    /** {@code ssize_t readlinkat(dirfd, path, buf, size)}: the link's bytes, not NUL-terminated. */
    static native long readlinkat(int dirfd, byte[] path, byte[] buf, long size) throws LastErrorException;

    static native int fcntl(int fd, int cmd, long arg) throws LastErrorException;

    static native int posix_fadvise(int fd, long offset, long len, int advice);

    /** The address of a direct buffer's first byte. */
    static long address(ByteBuffer direct) {
        return com.sun.jna.Pointer.nativeValue(Native.getDirectBufferPointer(direct));
    }
}
