package io.ringbatch.io;

import com.sun.jna.Memory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * Test tools for the escape tests: an atomic exchange of two names ({@code renameat2(RENAME_EXCHANGE)},
 * so that no moment exists where neither is there), the seam called just before every open beneath a
 * root, and the switch between openat2 and the component-by-component fallback.
 */
public final class Swaps {
    private static final int RENAME_EXCHANGE = 2;

    private Swaps() {
    }

    /** Exchanges a and b atomically, whatever each is (file, directory, link). */
    public static void exchange(Path a, Path b) {
        Memory one = cString(a);
        Memory two = cString(b);
        try {
            LibC.syscall(Arch.current().sysRenameat2, LibC.AT_FDCWD, com.sun.jna.Pointer.nativeValue(one),
                    LibC.AT_FDCWD, com.sun.jna.Pointer.nativeValue(two), RENAME_EXCHANGE, 0);
        } catch (com.sun.jna.LastErrorException e) {
            throw new UncheckedIOException(new IOException("renameat2(" + a + ", " + b + ", RENAME_EXCHANGE): "
                    + Errno.describe(e.getErrorCode())));
        }
    }

    /** Runs the hook with each relative path just before it is opened beneath a root (null: none). */
    public static void beforeOpen(Consumer<String> hook) {
        Dir.beforeOpen = hook;
    }

    /** Whether this kernel has openat2, so that the tests with it switched off are not the only ones. */
    public static void useOpenat2(boolean use) {
        if (use) {
            System.clearProperty("ringbatch.io.openat2");
        } else {
            System.setProperty("ringbatch.io.openat2", "false");
        }
    }

    private static Memory cString(Path path) {
        byte[] bytes = path.toString().getBytes(StandardCharsets.UTF_8);
        Memory memory = new Memory(bytes.length + 1);
        memory.write(0, bytes, 0, bytes.length);
        memory.setByte(bytes.length, (byte) 0);
        return memory;
    }
}
