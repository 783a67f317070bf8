package io.ringbatch.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.ringbatch.io.IoEngines;
import io.ringbatch.io.IoOptions;
import java.io.IOException;
import java.lang.reflect.AnnotatedElement;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Parameter;
import java.lang.reflect.RecordComponent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.bind.DataObjectPropertyName;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;
import org.springframework.boot.convert.ApplicationConversionService;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.boot.origin.OriginTrackedValue;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.validation.autoconfigure.ValidationAutoConfiguration;
import org.springframework.context.annotation.ClassPathScanningCandidateComponentProvider;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.core.convert.ConversionService;
import org.springframework.core.env.EnumerablePropertySource;
import org.springframework.core.env.PropertySource;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;
import org.springframework.core.io.ByteArrayResource;
import org.springframework.core.io.ClassPathResource;
import org.springframework.core.type.classreading.MetadataReader;
import org.springframework.util.ClassUtils;

/**
 * {@code ringbatch.*} binding: defaults, environment variables, validation; and that config/application.yml,
 * README and docs/configuration.md document every key the code reads, with its real default.
 */
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

    /** The documented values, uncommented, bind and pass validation (examples included). */
    @Test
    void theDocumentedValuesBindAndPassValidation() throws Exception {
        PropertySource<?> documented = documentedYaml();
        assertThat(documented.getProperty("ringbatch.io.engine")).as("the ringbatch section").isNotNull();
        new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(ValidationAutoConfiguration.class))
                .withUserConfiguration(BoundWithPipeline.class)
                .withInitializer(context -> context.getEnvironment().getPropertySources().addFirst(documented))
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context.getBean(RingbatchProperties.class).workers()).isEqualTo(4);
                    assertThat(context.getBean(PipelineProperties.class).commitInterval()).isEqualTo(1048576);
                });
    }

    @Configuration(proxyBeanMethods = false)
    @EnableConfigurationProperties({RingbatchProperties.class, PipelineProperties.class})
    static class BoundWithPipeline {
    }

    /**
     * Every key the code reads (the records of @ConfigurationProperties, @Value and @ConditionalOnProperty in
     * io.ringbatch) is in config/application.yml, tagged default exactly when the code has a default of its
     * own, and in README's configuration table and docs/configuration.md; config/application.yml names no
     * ringbatch key the code does not read.
     */
    @Test
    void everyKeyTheCodeReadsIsDocumented() throws Exception {
        Map<String, Declared> declared = declaredKeys();
        // one key of each kind, so that a scan that finds nothing cannot pass
        assertThat(declared.keySet()).contains("ringbatch.data-dir", "ringbatch.io.block-size",
                "ringbatch.pipeline.split-size", "ringbatch.api.max-request-body", "ringbatch.operations.noop");
        Map<String, Documented> documented = documentedKeys();
        for (Declared key : declared.values()) {
            assertThat(documented.keySet()).as("config/application.yml documents %s (read by %s)", key.key(),
                    key.where()).contains(key.key());
            assertThat(documented.get(key.key()).isDefault())
                    .as("config/application.yml line %d tags %s '%s', but %s %s a default of its own",
                            documented.get(key.key()).line(), key.key(), documented.get(key.key()).isDefault()
                                    ? "default" : "example", key.where(), key.hasDefault() ? "gives it" : "gives it no")
                    .isEqualTo(key.hasDefault());
        }
        for (Documented key : documented.values()) {
            if (key.key().startsWith("ringbatch.")) {
                assertThat(declared.keySet()).as("config/application.yml line %d: %s is read by no code", key.line(),
                        key.key()).contains(key.key());
            }
        }
        String readme = Files.readString(README);
        String configuration = Files.readString(CONFIGURATION_DOC);
        PropertySource<?> yaml = documentedYaml();
        for (Documented key : documented.values()) {
            String row = tableRow(readme, key.key());
            assertThat(row).as("README's configuration table has a row for %s", key.key()).isNotNull();
            if (key.isDefault()) {
                String[] cells = row.split(" \\| ");
                for (String value : flattened(yaml, key.key()).values()) {
                    assertThat(cells.length > 1 ? cells[1] : "").as("README's default for %s", key.key()).contains(value);
                }
            }
            assertThat(tableRow(configuration, key.key())).as("docs/configuration.md has a row for %s", key.key())
                    .isNotNull();
        }
    }

    /**
     * Every value config/application.yml tags as a default is what the code uses without it: for ringbatch.*,
     * bound alone it gives what an empty environment binds (or equals the @Value default, or leaves the
     * condition as it is without the key); for Spring's keys, it is what the built-in application.yml sets.
     */
    @Test
    void everyValueTaggedDefaultIsTheDefault() throws Exception {
        Map<String, Declared> declared = declaredKeys();
        PropertySource<?> yaml = documentedYaml();
        PropertySource<?> builtIn = new YamlPropertySourceLoader()
                .load("built-in", new ClassPathResource("application.yml")).get(0);
        int checked = 0;
        for (Documented key : documentedKeys().values()) {
            if (!key.isDefault()) {
                continue;
            }
            Map<String, String> values = flattened(yaml, key.key());
            assertThat(values).as("config/application.yml line %d: %s", key.line(), key.key()).isNotEmpty();
            if (key.key().startsWith("ringbatch.")) {
                assertThat(declared.keySet()).as("config/application.yml line %d: %s is read by no code", key.line(),
                        key.key()).contains(key.key());
                declared.get(key.key()).check().assertDefault(key.key(), values);
            } else {
                for (Map.Entry<String, String> value : values.entrySet()) {
                    Object builtInValue = unwrapped(builtIn.getProperty(value.getKey()));
                    assertThat(builtInValue).as("config/application.yml line %d tags %s a default, but the built-in "
                            + "application.yml does not set it: tag it example", key.line(), value.getKey()).isNotNull();
                    assertThat(String.valueOf(builtInValue)).as("the built-in %s", value.getKey())
                            .isEqualTo(value.getValue());
                }
            }
            checked++;
        }
        assertThat(checked).as("values tagged default").isGreaterThan(20);
    }

    // ---- what config/application.yml documents ---------------------------------------------------------

    private static final Path CONFIG = Path.of("config/application.yml");
    private static final Path README = Path.of("README.md");
    private static final Path CONFIGURATION_DOC = Path.of("docs/configuration.md");
    private static final Pattern KEY_LINE = Pattern.compile("^( *)([A-Za-z0-9][A-Za-z0-9._-]*):(.*)$");
    private static final Pattern TAGGED = Pattern.compile("^(.*?)\\s+#\\s*(default|example)\\b.*$");

    /** A key config/application.yml sets: whether its value is tagged a default, and its line. */
    record Documented(String key, boolean isDefault, int line) {
    }

    /** The commented-out part of config/application.yml (from "# ringbatch:" on), uncommented. */
    private static List<String> documentedLines() throws IOException {
        List<String> lines = Files.readAllLines(CONFIG);
        int first = lines.indexOf("# ringbatch:");
        assertThat(first).as("config/application.yml has a line '# ringbatch:'").isNotNegative();
        List<String> out = new ArrayList<>(Collections.nCopies(first, ""));
        for (int i = first; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isEmpty() || line.equals("#")) {
                out.add("");
            } else {
                assertThat(line).as("config/application.yml line %d is commented out", i + 1).startsWith("# ");
                out.add(line.substring(2));
            }
        }
        return out;
    }

    private static PropertySource<?> documentedYaml() throws IOException {
        String yaml = String.join("\n", documentedLines()) + "\n";
        List<PropertySource<?>> documents = new YamlPropertySourceLoader()
                .load("documented", new ByteArrayResource(yaml.getBytes(StandardCharsets.UTF_8)));
        assertThat(documents).hasSize(1);
        return documents.get(0);
    }

    /** Every key with a value, by its full name, in the file's order. */
    private static Map<String, Documented> documentedKeys() throws IOException {
        List<String> lines = documentedLines();
        Map<String, Documented> keys = new LinkedHashMap<>();
        Deque<Map.Entry<Integer, String>> sections = new ArrayDeque<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank() || line.strip().startsWith("#")) {
                continue;
            }
            Matcher m = KEY_LINE.matcher(line);
            assertThat(m.matches()).as("config/application.yml line %d is 'key: value  # tag': %s", i + 1, line)
                    .isTrue();
            int indent = m.group(1).length();
            while (!sections.isEmpty() && sections.peekLast().getKey() >= indent) {
                sections.removeLast();
            }
            String rest = m.group(3).strip();
            if (rest.isEmpty() || rest.startsWith("#")) {
                sections.addLast(Map.entry(indent, m.group(2)));
                continue;
            }
            Matcher tag = TAGGED.matcher(rest);
            assertThat(tag.matches()).as("config/application.yml line %d tags its value '# default' or '# example'",
                    i + 1).isTrue();
            StringBuilder key = new StringBuilder();
            sections.forEach(s -> key.append(s.getValue()).append('.'));
            key.append(m.group(2));
            keys.put(key.toString(), new Documented(key.toString(), tag.group(2).equals("default"), i + 1));
        }
        return keys;
    }

    /** The flattened entries of one key: itself, or its list items ({@code key[0]}) or nested keys. */
    private static Map<String, String> flattened(PropertySource<?> yaml, String key) {
        Map<String, String> out = new TreeMap<>();
        for (String name : ((EnumerablePropertySource<?>) yaml).getPropertyNames()) {
            if (name.equals(key) || name.startsWith(key + "[") || name.startsWith(key + ".")) {
                out.put(name, String.valueOf(unwrapped(yaml.getProperty(name))));
            }
        }
        return out;
    }

    private static Object unwrapped(Object value) {
        return value instanceof OriginTrackedValue v ? v.getValue() : value;
    }

    /** The line of a Markdown table whose first cell is {@code `key`}, or null. */
    private static String tableRow(String markdown, String key) {
        return markdown.lines().filter(l -> l.startsWith("| `" + key + "` |")).findFirst().orElse(null);
    }

    // ---- what the code reads ---------------------------------------------------------------------------

    /** Fails unless the key's entries from config/application.yml are what the code uses without them. */
    @FunctionalInterface
    interface DefaultCheck {
        void assertDefault(String key, Map<String, String> documented);
    }

    /** A key the code reads: where, whether the code has a default for it, and how to check a documented one. */
    record Declared(String key, String where, boolean hasDefault, DefaultCheck check) {
    }

    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{(ringbatch\\.[a-z0-9.\\[\\]-]+)(?::([^}]*))?}");

    /** The ringbatch.* keys read by the main classes of io.ringbatch, found by scanning them. */
    private static Map<String, Declared> declaredKeys() throws Exception {
        ClassPathScanningCandidateComponentProvider scanner = new ClassPathScanningCandidateComponentProvider(false) {
            @Override
            protected boolean isCandidateComponent(MetadataReader reader) {
                return true; // every class, also those whose @Conditional would not match here
            }
        };
        Map<String, Declared> keys = new TreeMap<>();
        for (BeanDefinition candidate : scanner.findCandidateComponents("io.ringbatch")) {
            Class<?> type = ClassUtils.forName(candidate.getBeanClassName(), RingbatchPropertiesTest.class.getClassLoader());
            if (type.getProtectionDomain().getCodeSource().getLocation().getPath().contains("test-classes")) {
                continue;
            }
            ConfigurationProperties bound = AnnotatedElementUtils.findMergedAnnotation(type, ConfigurationProperties.class);
            if (bound != null) {
                recordKeys(bound.prefix(), type, bound.prefix(), type, keys);
            }
            conditions(type, type.getSimpleName(), keys);
            for (Constructor<?> c : type.getDeclaredConstructors()) {
                for (Parameter p : c.getParameters()) {
                    placeholders(p, p.getType(), type.getSimpleName(), keys);
                }
            }
            for (Field f : type.getDeclaredFields()) {
                placeholders(f, f.getType(), type.getSimpleName(), keys);
            }
            for (Method m : type.getDeclaredMethods()) {
                conditions(m, type.getSimpleName() + "." + m.getName(), keys);
                ConfigurationProperties onBean = AnnotatedElementUtils.findMergedAnnotation(m, ConfigurationProperties.class);
                if (onBean != null) {
                    recordKeys(onBean.prefix(), m.getReturnType(), onBean.prefix(), m.getReturnType(), keys);
                }
                for (Parameter p : m.getParameters()) {
                    placeholders(p, p.getType(), type.getSimpleName() + "." + m.getName(), keys);
                }
            }
        }
        return keys;
    }

    /** The leaves of a bound record: nested records of ours are sections, everything else a key. */
    private static void recordKeys(String rootPrefix, Class<?> root, String prefix, Class<?> type,
                                   Map<String, Declared> keys) throws NoSuchMethodException {
        assertThat(type.isRecord()).as("%s (bound to %s) is a record; teach this test other kinds", type, prefix)
                .isTrue();
        RecordComponent[] components = type.getRecordComponents();
        Parameter[] parameters = type.getDeclaredConstructor(
                Arrays.stream(components).map(RecordComponent::getType).toArray(Class<?>[]::new)).getParameters();
        for (int i = 0; i < components.length; i++) {
            String key = prefix + "." + DataObjectPropertyName.toDashedForm(components[i].getName());
            Class<?> t = components[i].getType();
            if (t.isRecord() && t.getPackageName().startsWith("io.ringbatch")) {
                recordKeys(rootPrefix, root, key, t, keys);
                continue;
            }
            boolean hasDefault = parameters[i].isAnnotationPresent(DefaultValue.class);
            keys.put(key, new Declared(key, root.getSimpleName(), hasDefault, (name, documented) -> {
                Object defaults = new Binder(new MapConfigurationPropertySource()).bindOrCreate(rootPrefix, root);
                Object withDocumented = new Binder(new MapConfigurationPropertySource(documented))
                        .bindOrCreate(rootPrefix, root);
                assertThat(withDocumented).as("%s bound with config/application.yml's %s", root.getSimpleName(),
                        documented).isEqualTo(defaults);
            }));
        }
    }

    /** {@code @Value("${ringbatch.x:default}")}: the documented value converts to what the default converts to. */
    private static void placeholders(AnnotatedElement element, Class<?> type, String where, Map<String, Declared> keys) {
        Value value = element.getAnnotation(Value.class);
        if (value == null) {
            return;
        }
        Matcher m = PLACEHOLDER.matcher(value.value());
        while (m.find()) {
            String key = m.group(1);
            String fallback = m.group(2);
            Class<?> target = ClassUtils.resolvePrimitiveIfNecessary(type);
            keys.put(key, new Declared(key, where, fallback != null, (name, documented) -> {
                assertThat(documented).as(name).hasSize(1);
                ConversionService conversion = ApplicationConversionService.getSharedInstance();
                assertThat(conversion.convert(documented.values().iterator().next(), target))
                        .as("%s as config/application.yml gives it, against %s's default '%s'", name, where, fallback)
                        .isEqualTo(conversion.convert(fallback, target));
            }));
        }
    }

    /** {@code @ConditionalOnProperty}: the documented value leaves the condition as it is without the key. */
    private static void conditions(AnnotatedElement element, String where, Map<String, Declared> keys) {
        ConditionalOnProperty property = AnnotatedElementUtils.findMergedAnnotation(element, ConditionalOnProperty.class);
        if (property != null) {
            for (String name : property.name().length > 0 ? property.name() : property.value()) {
                condition(property.prefix(), name, property.havingValue(), property.matchIfMissing(), where, keys);
            }
        }
        ConditionalOnBooleanProperty bool = AnnotatedElementUtils.findMergedAnnotation(element,
                ConditionalOnBooleanProperty.class);
        if (bool != null) {
            for (String name : bool.name().length > 0 ? bool.name() : bool.value()) {
                condition(bool.prefix(), name, String.valueOf(bool.havingValue()), bool.matchIfMissing(), where, keys);
            }
        }
    }

    private static void condition(String prefix, String name, String havingValue, boolean matchIfMissing, String where,
                                  Map<String, Declared> keys) {
        String key = prefix.isEmpty() ? name : prefix.replaceAll("\\.$", "") + "." + name;
        if (!key.startsWith("ringbatch.")) {
            return;
        }
        keys.put(key, new Declared(key, where, true, (k, documented) -> {
            assertThat(documented).as(k).hasSize(1);
            String value = documented.values().iterator().next();
            boolean on = havingValue.isEmpty() ? !"false".equalsIgnoreCase(value) : havingValue.equalsIgnoreCase(value);
            assertThat(on).as("%s=%s %s %s, which without the key is %s", k, value, on ? "turns on" : "leaves off",
                    where, matchIfMissing ? "on" : "off").isEqualTo(matchIfMissing);
        }));
    }
}
