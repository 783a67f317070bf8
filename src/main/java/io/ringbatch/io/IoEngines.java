package io.ringbatch.io;

import java.util.Locale;

/**
 * Chooses the engine that {@code ringbatch.io.engine} asks for. {@code auto} starts io_uring and
 * falls back to the blocking engine when the environment refuses it (seccomp profiles of container
 * runtimes answer EPERM or ENOSYS, {@code kernel.io_uring_disabled} EPERM, gVisor EINVAL or ENOSYS, a
 * low locked-memory limit ENOMEM); {@code io_uring} fails when it is refused.
 */
public final class IoEngines {

    public enum Mode {
        AUTO, IO_URING, BLOCKING;

        public static Mode parse(String value) {
            String v = value == null ? "auto" : value.trim().toLowerCase(Locale.ROOT).replace('-', '_');
            return switch (v) {
                case "auto" -> AUTO;
                case "io_uring", "iouring", "uring" -> IO_URING;
                case "blocking" -> BLOCKING;
                default -> throw new IllegalArgumentException(
                        "ringbatch.io.engine must be auto, io_uring or blocking, not '" + value + "'");
            };
        }

        public String value() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Starts the io_uring engine; tests put a refusing one in its place. */
    @FunctionalInterface
    public interface UringStarter {
        IoEngine start(IoOptions options) throws java.io.IOException;
    }

    /** The engine that runs, what was asked for, and why it differs (null when it does not). */
    public record Selection(IoEngine engine, Mode requested, String fallbackReason) {
    }

    private IoEngines() {
    }

    public static Selection select(Mode mode, IoOptions options) {
        return select(mode, options, IoUringEngine::new);
    }

    public static Selection select(Mode mode, IoOptions options, UringStarter uring) {
        if (mode == Mode.BLOCKING) {
            return new Selection(new BlockingEngine(options), mode, null);
        }
        try {
            return new Selection(uring.start(options), mode, null);
        } catch (java.io.IOException | UnsupportedOperationException | LinkageError e) {
            String reason = e.getMessage() == null ? e.toString() : e.getMessage();
            if (mode == Mode.IO_URING) {
                throw new IoEngineUnavailableException("ringbatch.io.engine=io_uring, but io_uring cannot run here: "
                        + reason + ". Allow io_uring (for containers, a seccomp profile that permits io_uring_setup,"
                        + " io_uring_enter and io_uring_register) or set ringbatch.io.engine=auto or blocking.", e);
            }
            return new Selection(new BlockingEngine(options), mode, reason);
        }
    }
}
