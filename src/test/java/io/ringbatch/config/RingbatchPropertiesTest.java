package io.ringbatch.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.ringbatch.io.IoEngines;
import io.ringbatch.io.IoOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.validation.autoconfigure.ValidationAutoConfiguration;
import org.springframework.context.annotation.Configuration;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.core.env.PropertySource;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.io.ByteArrayResource;
import org.springframework.core.env.SystemEnvironmentPropertySource;

/** {@code ringbatch.*} binding: defaults, environment variables, validation. */
class RingbatchPropertiesTest {

    @Configuration(proxyBeanMethods = false)
    @EnableConfigurationProperties(RingbatchProperties.class)
    static class Bound {
    }

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(ValidationAutoConfiguration.class))
            .withUserConfiguration(Bound.class);

    private static Path cwd(String relative) {
        return Path.of(relative).toAbsolutePath().normalize();
    }

    @Test
    void defaults() {
        runner.run(context -> {
            assertThat(context).hasNotFailed();
            RingbatchProperties p = context.getBean(RingbatchProperties.class);
            assertThat(p.dataDir()).isEqualTo(cwd("data"));
            assertThat(p.inputRoots()).containsExactly(cwd("data/input"));
            assertThat(p.outputRoot()).isEqualTo(cwd("data/output"));
            assertThat(p.workers()).isEqualTo(Runtime.getRuntime().availableProcessors());
            assertThat(p.maxConcurrentJobs()).isEqualTo(2);
            assertThat(p.queueCapacity()).isEqualTo(100);
            assertThat(p.resumeOnStart()).isTrue();
            assertThat(p.io().engine()).isEqualTo(IoEngines.Mode.AUTO);
            assertThat(p.io().toOptions()).isEqualTo(IoOptions.defaults());
            assertThat(p.security().adminPassword()).isNull();
            assertThat(p.security().viewerPassword()).isNull();
        });
    }

    @Test
    void propertiesInTheirDocumentedForms() {
        runner.withPropertyValues("ringbatch.data-dir=/var/lib/ringbatch/../rb", "ringbatch.input-roots=/in/a,in/b",
                        "ringbatch.output-root=/out", "ringbatch.workers=3", "ringbatch.io.engine=io_uring",
                        "ringbatch.io.block-size=256KB", "ringbatch.io.direct=true", "ringbatch.io.queue-depth=128",
                        "ringbatch.io.topology=shared", "ringbatch.security.admin-password=s3cret")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    RingbatchProperties p = context.getBean(RingbatchProperties.class);
                    assertThat(p.dataDir()).isEqualTo(Path.of("/var/lib/rb"));
                    assertThat(p.inputRoots()).containsExactly(Path.of("/in/a"), cwd("in/b"));
                    assertThat(p.outputRoot()).isEqualTo(Path.of("/out"));
                    assertThat(p.workers()).isEqualTo(3);
                    assertThat(p.io().engine()).isEqualTo(IoEngines.Mode.IO_URING);
                    assertThat(p.io().toOptions().blockSize()).isEqualTo(256 * 1024);
                    assertThat(p.io().toOptions().direct()).isTrue();
                    assertThat(p.io().toOptions().queueDepth()).isEqualTo(128);
                    assertThat(p.io().toOptions().topology()).isEqualTo(IoOptions.Topology.SHARED);
                    assertThat(p.security().adminPassword()).isEqualTo("s3cret");
                    assertThat(p.security().toString()).doesNotContain("s3cret");
                });
    }

    @Test
    void environmentVariables() {
        Map<String, Object> env = Map.of("RINGBATCH_WORKERS", "2", "RINGBATCH_IO_ENGINE", "blocking",
                "RINGBATCH_IO_QUEUEDEPTH", "32", "RINGBATCH_DATADIR", "/srv/rb", "RINGBATCH_INPUTROOTS_0_", "/in/x",
                "RINGBATCH_SECURITY_ADMINPASSWORD", "from-env");
        runner.withInitializer(context -> context.getEnvironment().getPropertySources().addFirst(
                        new SystemEnvironmentPropertySource(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, env)))
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    RingbatchProperties p = context.getBean(RingbatchProperties.class);
                    assertThat(p.workers()).isEqualTo(2);
                    assertThat(p.io().engine()).isEqualTo(IoEngines.Mode.BLOCKING);
                    assertThat(p.io().queueDepth()).isEqualTo(32);
                    assertThat(p.dataDir()).isEqualTo(Path.of("/srv/rb"));
                    assertThat(p.inputRoots()).isEqualTo(List.of(Path.of("/in/x")));
                    assertThat(p.security().adminPassword()).isEqualTo("from-env");
                });
    }

    @Test
    void refusesWhatCannotWork() {
        for (String bad : new String[] {"ringbatch.workers=0", "ringbatch.io.engine=epoll",
                "ringbatch.io.block-size=1000B", "ringbatch.io.block-size=2GB", "ringbatch.io.queue-depth=0",
                "ringbatch.max-concurrent-jobs=0", "ringbatch.input-roots=", "ringbatch.io.topology=ring-per-file"}) {
            runner.withPropertyValues(bad).run(context -> assertThat(context).as(bad).hasFailed());
        }
    }

    /** config/application.yml shows the defaults commented out; uncommented, it must change nothing. */
    @Test
    void theDocumentedDefaultsAreTheDefaults() throws Exception {
        List<String> lines = Files.readAllLines(Path.of("config/application.yml"));
        StringBuilder yaml = new StringBuilder();
        for (String line : lines.subList(lines.indexOf("# ringbatch:"), lines.size())) {
            if (line.isEmpty()) {
                break;
            }
            yaml.append(line.equals("#") ? "" : line.substring(2)).append('\n');
        }
        List<PropertySource<?>> documented = new YamlPropertySourceLoader()
                .load("documented", new ByteArrayResource(yaml.toString().getBytes(StandardCharsets.UTF_8)));
        assertThat(documented).hasSize(1);
        assertThat(documented.get(0).getProperty("ringbatch.io.engine")).as(yaml.toString()).isNotNull();
        runner.run(defaults -> runner
                .withInitializer(context -> context.getEnvironment().getPropertySources().addFirst(documented.get(0)))
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    RingbatchProperties d = defaults.getBean(RingbatchProperties.class);
                    RingbatchProperties p = context.getBean(RingbatchProperties.class);
                    assertThat(p.dataDir()).isEqualTo(d.dataDir());
                    assertThat(p.inputRoots()).isEqualTo(d.inputRoots());
                    assertThat(p.outputRoot()).isEqualTo(d.outputRoot());
                    assertThat(p.maxConcurrentJobs()).isEqualTo(d.maxConcurrentJobs());
                    assertThat(p.queueCapacity()).isEqualTo(d.queueCapacity());
                    assertThat(p.resumeOnStart()).isEqualTo(d.resumeOnStart());
                    assertThat(p.io()).isEqualTo(d.io());
                }));
    }
}
