package io.ringbatch;

import java.nio.file.Path;
import java.util.function.Supplier;
import org.springframework.test.context.DynamicPropertyRegistry;

/** The service's three directories inside a test's temporary directory: data, input and output. */
public final class TestDirs {
    private TestDirs() {
    }

    /** {@code ringbatch.data-dir = dir}, {@code input-roots = dir/input}, {@code output-root = dir/output}. */
    public static void register(DynamicPropertyRegistry registry, Supplier<Path> dir) {
        registry.add("ringbatch.data-dir", () -> dir.get().toString());
        registry.add("ringbatch.input-roots", () -> dir.get().resolve("input").toString());
        registry.add("ringbatch.output-root", () -> dir.get().resolve("output").toString());
    }
}
