package io.ringbatch.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * Makes {@code ringbatch.data-dir} absolute and creates the directory before anything opens it.
 * <p>
 * The default JDBC URL is {@code jdbc:h2:file:${ringbatch.data-dir}/ringbatch}; H2 refuses paths that
 * are implicitly relative ({@code data} rather than {@code ./data}) and needs the directory to be
 * there, so both are settled here, once the configuration files are read and before any bean exists.
 */
public class DataDirectoryEnvironmentPostProcessor implements EnvironmentPostProcessor, Ordered {

    static final String PROPERTY = "ringbatch.data-dir";
    static final String DEFAULT = "./data";
    static final String SOURCE_NAME = "ringbatchDataDirectory";

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        String configured = Binder.get(environment).bind(PROPERTY, String.class).orElse(DEFAULT);
        Path dir = Path.of(configured.isBlank() ? DEFAULT : configured).toAbsolutePath().normalize();
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + PROPERTY + " " + dir + " (" + e
                    + "); point ringbatch.data-dir (RINGBATCH_DATADIR) at a writable directory", e);
        }
        environment.getPropertySources().remove(SOURCE_NAME);
        environment.getPropertySources().addFirst(new MapPropertySource(SOURCE_NAME, Map.of(PROPERTY, dir.toString())));
    }

    /** After the configuration files are loaded. */
    @Override
    public int getOrder() {
        return Ordered.LOWEST_PRECEDENCE;
    }
}
