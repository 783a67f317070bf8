package io.ringbatch.io;

import java.io.IOException;

/**
 * The kernel, a seccomp profile or a sysctl refused io_uring. Carries errno so that {@code auto}
 * can tell "refused here" (EPERM, ENOSYS, EINVAL, ENOMEM, EACCES) from other failures.
 */
public class IoUringUnavailableException extends IOException {
    private final int errno;

    public IoUringUnavailableException(String call, int errno) {
        super(call + " refused: " + Errno.describe(errno) + hint(errno));
        this.errno = errno;
    }

    public int errno() {
        return errno;
    }

    /** Whether this errno means "io_uring is not available in this environment" rather than a bug. */
    public boolean refusedByEnvironment() {
        return errno == Errno.EPERM || errno == Errno.ENOSYS || errno == Errno.EINVAL || errno == Errno.ENOMEM
                || errno == Errno.EACCES;
    }

    private static String hint(int errno) {
        return switch (errno) {
            case Errno.EPERM, Errno.EACCES ->
                    " (a seccomp profile, a container runtime or kernel.io_uring_disabled forbids it)";
            case Errno.ENOSYS -> " (the kernel has no io_uring, or a seccomp profile hides it)";
            case Errno.ENOMEM -> " (locked-memory limit too low for the ring)";
            case Errno.EINVAL -> " (the kernel does not accept these ring parameters)";
            default -> "";
        };
    }
}
