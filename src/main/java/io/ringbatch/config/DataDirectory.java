package io.ringbatch.config;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.slf4j.LoggerFactory;
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
 * Makes {@code ringbatch.data-dir} absolute and creates the directory (0700, with its {@code jobs}
 * directory of work directories) before any bean opens it.
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
        ownerOnly(dir);
        try {
            ownerOnly(Files.createDirectories(dir.resolve("jobs")));
        } catch (IOException e) {
            throw new DataDirectoryException(dir, "its jobs directory cannot be created (" + reason(e) + ")", e);
        }
        environment.getPropertySources().addFirst(new MapPropertySource(SOURCE_NAME, Map.of(PROPERTY, dir.toString())));
    }

    /**
     * The data dir holds the job repository (H2), the remember-me key and the jobs' work files (the inputs'
     * names and contents, the outputs before they are published): 0700, whatever the umask, as the
     * database files are 0600 ({@link #restrictDatabaseFiles}). A directory the service does not own (a
     * volume's root owned by root) keeps its mode, with a warning.
     */
    static void ownerOnly(Path dir) {
        try {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        } catch (IOException | UnsupportedOperationException e) {
            LoggerFactory.getLogger(DataDirectory.class).warn("cannot make {} readable by its owner only ({}); its "
                    + "files may be readable by other users", dir, e.toString());
        }
    }

    /** H2's files in the data dir ({@code *.mv.db}, {@code *.trace.db}), once the database has made them: 0600. */
    static void restrictDatabaseFiles(Path dataDir) throws IOException {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dataDir, "*.db")) {
            for (Path file : files) {
                if (Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
                    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
                }
            }
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: nothing to restrict this way
        }
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
