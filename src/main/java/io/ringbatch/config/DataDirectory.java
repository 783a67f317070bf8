package io.ringbatch.config;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.springframework.beans.factory.config.BeanFactoryPostProcessor;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.EnvironmentAware;
import org.springframework.core.Ordered;
import org.springframework.core.PriorityOrdered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.Environment;
import org.springframework.core.env.MapPropertySource;

/**
 * Makes {@code ringbatch.data-dir} absolute and creates the directory before any bean opens it.
 * <p>
 * The default JDBC URL is {@code jdbc:h2:file:${ringbatch.data-dir}/ringbatch}; H2 refuses paths that
 * are implicitly relative ({@code data} rather than {@code ./data}) and needs the directory to exist.
 * This runs once every property source is in place (configuration files, environment, command line,
 * and the ones tests add) and before any bean is created, so the DataSource, the properties bean
 * and the health indicators all see the same absolute path.
 */
public class DataDirectory implements BeanFactoryPostProcessor, EnvironmentAware, PriorityOrdered {

    static final String PROPERTY = "ringbatch.data-dir";
    static final String DEFAULT = "./data";
    static final String SOURCE_NAME = "ringbatchDataDirectory";

    private ConfigurableEnvironment environment;

    @Override
    public void setEnvironment(Environment environment) {
        this.environment = (ConfigurableEnvironment) environment;
    }

    @Override
    public void postProcessBeanFactory(ConfigurableListableBeanFactory beanFactory) {
        environment.getPropertySources().remove(SOURCE_NAME);
        String configured = Binder.get(environment).bind(PROPERTY, String.class).orElse(DEFAULT);
        Path dir = Path.of(configured.isBlank() ? DEFAULT : configured).toAbsolutePath().normalize();
        try {
            Files.createDirectories(dir);
        } catch (FileAlreadyExistsException e) {
            throw new DataDirectoryException(dir, "it exists and is not a directory", e);
        } catch (IOException e) {
            throw new DataDirectoryException(dir, "it cannot be created (" + reason(e) + ")", e);
        }
        // root may write anywhere Unix permissions say no, but not on a read-only file system: try it
        try {
            Path probe = Files.createTempFile(dir, ".write-check", ".tmp");
            Files.delete(probe);
        } catch (IOException e) {
            throw new DataDirectoryException(dir, "it is not writable (" + reason(e) + ")", e);
        }
        environment.getPropertySources().addFirst(new MapPropertySource(SOURCE_NAME, Map.of(PROPERTY, dir.toString())));
    }

    private static String reason(IOException e) {
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof java.nio.file.FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
    }

    @Override
    public int getOrder() {
        return Ordered.HIGHEST_PRECEDENCE;
    }
}
