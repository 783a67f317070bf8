package io.ringbatch;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Supplier;
import org.springframework.boot.test.util.TestPropertyValues;
import org.springframework.context.ApplicationContextInitializer;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.util.FileSystemUtils;

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

    /**
     * The directory of the context that {@link ServiceTest} classes share, {@code target/service-tests},
     * emptied and made once per JVM (a run leaves it for a look until the next): its {@code input} and
     * {@code output} exist.
     * Classes that share it share its database and roots too: each keeps its files under a directory of
     * its own in {@link #input()}.
     */
    public static Path shared() {
        return Service.DIR;
    }

    /** {@code shared()/input}: the shared context's only input root. */
    public static Path input() {
        return shared().resolve("input");
    }

    /** {@code shared()/output}: the shared context's output root. */
    public static Path output() {
        return shared().resolve("output");
    }

    /** The directory of the context that {@link RunnerTest} classes share, as {@link #shared()}. */
    public static Path runner() {
        return Runner.DIR;
    }

    /**
     * {@code target/<name>} with {@code input/} and {@code output/}, emptied first: what an earlier run left there
     * goes (mvn clean removes the rest). For a test class with a context of its own.
     */
    public static Path make(String name) {
        try {
            Path dir = Path.of("target", name).toAbsolutePath();
            FileSystemUtils.deleteRecursively(dir);
            Files.createDirectories(dir.resolve("input"));
            Files.createDirectories(dir.resolve("output"));
            return dir.toRealPath();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void apply(ConfigurableApplicationContext context, Path dir) {
        TestPropertyValues.of("ringbatch.data-dir=" + dir, "ringbatch.input-roots=" + dir.resolve("input"),
                "ringbatch.output-root=" + dir.resolve("output")).applyTo(context);
    }

    private static final class Service {
        static final Path DIR = make("service-tests");
    }

    private static final class Runner {
        static final Path DIR = make("runner-tests");
    }

    /** Points the service at {@link #shared()}: the initializer of {@link ServiceTest}'s context. */
    public static final class ServiceDirs implements ApplicationContextInitializer<ConfigurableApplicationContext> {
        @Override
        public void initialize(ConfigurableApplicationContext context) {
            apply(context, shared());
        }
    }

    /** Points the service at {@link #runner()}: the initializer of {@link RunnerTest}'s context. */
    public static final class RunnerDirs implements ApplicationContextInitializer<ConfigurableApplicationContext> {
        @Override
        public void initialize(ConfigurableApplicationContext context) {
            apply(context, runner());
        }
    }
}
