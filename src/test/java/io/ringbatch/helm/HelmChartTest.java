package io.ringbatch.helm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ringbatch.TestDirs;
import com.google.gson.Gson;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import io.kubernetes.client.openapi.JSON;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1Container;
import io.kubernetes.client.openapi.models.V1Deployment;
import io.kubernetes.client.openapi.models.V1EnvVar;
import io.kubernetes.client.openapi.models.V1Ingress;
import io.kubernetes.client.openapi.models.V1NetworkPolicy;
import io.kubernetes.client.openapi.models.V1Pod;
import io.kubernetes.client.openapi.models.V1PodDisruptionBudget;
import io.kubernetes.client.openapi.models.V1Probe;
import io.kubernetes.client.openapi.models.V1Secret;
import io.kubernetes.client.openapi.models.V1Service;
import io.kubernetes.client.openapi.models.V1ServiceAccount;
import io.kubernetes.client.openapi.models.V1StatefulSet;
import io.kubernetes.client.openapi.models.V1Volume;
import io.kubernetes.client.openapi.models.V1VolumeMount;
import io.kubernetes.client.openapi.models.V2HorizontalPodAutoscaler;
import io.ringbatch.config.PipelineProperties;
import io.ringbatch.config.RingbatchProperties;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.autoconfigure.context.LifecycleProperties;
import org.springframework.boot.context.properties.bind.BindHandler;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.bind.handler.NoUnboundElementsBindHandler;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;
import org.springframework.boot.convert.ApplicationConversionService;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.util.unit.DataSize;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The chart, without a cluster: Helm (embedded through helm-java) lints it strictly and renders it with
 * the defaults and with each documented option; every rendered document is parsed by the Kubernetes
 * client's models, which refuse unknown fields; the ConfigMap binds to the service's own properties
 * classes with no key left over; the probes answer on the running service; the schema refuses bad values.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = "ringbatch.security.admin-password=chart-test")
@DirtiesContext
@Timeout(120)
class HelmChartTest {
    static final Path CHART = Path.of("helm", "ringbatch");
    /** A Kubernetes version the chart supports (Chart.yaml: kubeVersion), for the capabilities templates see. */
    static final String KUBE_VERSION = "1.31.0";
    static final Map<String, Class<?>> KINDS = Map.ofEntries(
            Map.entry("ServiceAccount", V1ServiceAccount.class), Map.entry("Secret", V1Secret.class),
            Map.entry("ConfigMap", V1ConfigMap.class), Map.entry("Service", V1Service.class),
            Map.entry("StatefulSet", V1StatefulSet.class), Map.entry("PodDisruptionBudget", V1PodDisruptionBudget.class),
            Map.entry("Ingress", V1Ingress.class), Map.entry("Pod", V1Pod.class),
            Map.entry("NetworkPolicy", V1NetworkPolicy.class), Map.entry("Deployment", V1Deployment.class),
            Map.entry("HorizontalPodAutoscaler", V2HorizontalPodAutoscaler.class));

    @TempDir
    static Path dataDir;

    @DynamicPropertySource
    static void dirs(DynamicPropertyRegistry registry) {
        TestDirs.register(registry, () -> dataDir);
    }

    @LocalServerPort
    int port;

    /** The rendered documents: typed where Kubernetes has a model, maps for the Prometheus CRD. */
    record Rendered(List<Object> typed, List<Map<String, Object>> custom) {
        <T> List<T> all(Class<T> type) {
            return typed.stream().filter(type::isInstance).map(type::cast).toList();
        }

        <T> T one(Class<T> type) {
            List<T> found = all(type);
            assertThat(found).as(type.getSimpleName()).hasSize(1);
            return found.get(0);
        }

        V1StatefulSet statefulSet() {
            return one(V1StatefulSet.class);
        }

        V1Container container() {
            return statefulSet().getSpec().getTemplate().getSpec().getContainers().get(0);
        }

        V1EnvVar env(String name) {
            return container().getEnv().stream().filter(e -> e.getName().equals(name)).findFirst().orElse(null);
        }

        V1Secret secret() {
            List<V1Secret> secrets = all(V1Secret.class);
            return secrets.isEmpty() ? null : secrets.get(0);
        }

        /** application.yml of the ConfigMap, parsed. */
        Map<String, Object> application() {
            return load(one(V1ConfigMap.class).getData().get("application.yml"));
        }
    }

    static Rendered render(Object... sets) {
        TemplateCommand template = new Helm(CHART).template().withName("rb").withNamespace("jobs")
                .withKubeVersion(KUBE_VERSION)
                // helm-java's template asks the cluster for lookup (helm template answers it with nothing)
                .set("auth.keepGeneratedSecrets", false);
        for (int i = 0; i < sets.length; i += 2) {
            template = template.set((String) sets[i], sets[i + 1]);
        }
        return parse(template.call());
    }

    static Rendered parse(String manifests) {
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(false);
        Yaml yaml = new Yaml(new SafeConstructor(options));
        Gson plain = new Gson();
        List<Object> typed = new ArrayList<>();
        List<Map<String, Object>> custom = new ArrayList<>();
        for (Object doc : yaml.loadAll(manifests)) {
            if (doc == null) {
                continue;
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> map = (Map<String, Object>) doc;
            String kind = (String) map.get("kind");
            Class<?> model = KINDS.get(kind);
            if (model != null) {
                // the models refuse fields they do not know, at every level, and missing required ones
                typed.add(JSON.getGson().fromJson(plain.toJson(map), model));
            } else {
                assertThat(kind).as("a kind the chart should not render").isEqualTo("ServiceMonitor");
                custom.add(map);
            }
        }
        return new Rendered(typed, custom);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> load(String text) {
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(false);
        return (Map<String, Object>) new Yaml(new SafeConstructor(options)).load(text);
    }

    /** {a: {b: 1}} -> {"a.b": 1}; lists become a[0], a[1]. */
    static Map<String, Object> flatten(String prefix, Object value, Map<String, Object> out) {
        if (value instanceof Map<?, ?> map) {
            for (Map.Entry<?, ?> e : map.entrySet()) {
                flatten(prefix.isEmpty() ? e.getKey().toString() : prefix + "." + e.getKey(), e.getValue(), out);
            }
        } else if (value instanceof List<?> list) {
            for (int i = 0; i < list.size(); i++) {
                flatten(prefix + "[" + i + "]", list.get(i), out);
            }
        } else {
            out.put(prefix, value);
        }
        return out;
    }

    @Test
    void lintsCleanInStrictMode() {
        LintResult lint = new Helm(CHART).lint().strict().call();
        assertThat(lint.isFailed()).as(String.join("\n", lint.getMessages())).isFalse();
    }

    @Test
    void theDefaultsRenderAStatefulSetWithItsDataVolumeProbesAndLockedDownSecurity() throws Exception {
        Rendered r = render();
        assertThat(r.typed().stream().map(o -> o.getClass().getSimpleName()).sorted().toList()).containsExactly(
                "V1ConfigMap", "V1NetworkPolicy", "V1PodDisruptionBudget", "V1Secret", "V1Service", "V1Service",
                "V1ServiceAccount", "V1StatefulSet");
        assertThat(r.custom()).isEmpty();

        V1StatefulSet sts = r.statefulSet();
        assertThat(sts.getSpec().getReplicas()).isEqualTo(1);
        assertThat(sts.getMetadata().getNamespace()).isEqualTo("jobs");
        V1Container c = r.container();
        assertThat(c.getPorts()).singleElement().satisfies(p -> {
            assertThat(p.getName()).isEqualTo("http");
            assertThat(p.getContainerPort()).isEqualTo(8080);
        });
        assertThat(r.application()).extracting(a -> ((Map<?, ?>) a.get("server")).get("port")).isEqualTo(8080);

        // the image: the one build-image makes, tagged with the service's version
        String version = pomProperty("<version>", "</version>", 1);
        String chart = Files.readString(CHART.resolve("Chart.yaml"));
        assertThat(chart).contains("appVersion: \"" + version + "\"");
        String imageName = pomProperty("<image.name>", "</image.name>", 0).replace("${project.version}", version);
        assertThat(c.getImage()).isEqualTo(imageName).isEqualTo("ghcr.io/ringbatch/ringbatch:" + version);

        // locked down: non-root, read-only root, no capabilities, no escalation, no API token
        var pod = sts.getSpec().getTemplate().getSpec();
        assertThat(pod.getSecurityContext().getRunAsNonRoot()).isTrue();
        assertThat(c.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
        assertThat(c.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
        assertThat(c.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
        assertThat(pod.getAutomountServiceAccountToken()).isFalse();
        assertThat(r.one(V1ServiceAccount.class).getAutomountServiceAccountToken()).isFalse();
        assertThat(pod.getSecurityContext().getSeccompProfile().getType()).isEqualTo("Localhost");
        assertThat(pod.getSecurityContext().getSeccompProfile().getLocalhostProfile())
                .isEqualTo("profiles/ringbatch-io-uring.json");
        assertThat(Files.readString(CHART.resolve("files/ringbatch-io-uring.json")))
                .contains("\"io_uring_setup\"", "\"io_uring_enter\"", "\"io_uring_register\"");

        // the data dir is the claim of each pod, mounted where the service's configuration says
        Map<String, Object> ringbatch = ringbatch(r);
        assertThat(sts.getSpec().getVolumeClaimTemplates()).singleElement().satisfies(pvc -> {
            assertThat(pvc.getMetadata().getName()).isEqualTo("data");
            assertThat(pvc.getSpec().getResources().getRequests().get("storage").toSuffixedString()).isEqualTo("10Gi");
        });
        assertThat(mount(c, "data").getMountPath()).isEqualTo(ringbatch.get("data-dir"));
        assertThat(mount(c, "input").getMountPath()).isEqualTo(((List<?>) ringbatch.get("input-roots")).get(0));
        assertThat(mount(c, "input").getReadOnly()).isTrue();
        assertThat(mount(c, "output").getMountPath()).isEqualTo(ringbatch.get("output-root"));
        assertThat(mount(c, "tmp").getMountPath()).isEqualTo("/tmp");
        assertThat(volume(r, "tmp").getEmptyDir()).isNotNull();
        assertThat(mount(c, "config").getMountPath()).isEqualTo("/etc/ringbatch");
        assertThat(r.env("SPRING_CONFIG_ADDITIONALLOCATION").getValue()).isEqualTo("optional:file:/etc/ringbatch/");

        // a CPU request and limit; shutdown within the grace period
        assertThat(c.getResources().getRequests()).containsKey("cpu");
        assertThat(c.getResources().getLimits()).containsKey("cpu");
        assertThat(shutdownTimeout(r)).isEqualTo(Duration.ofSeconds(45));
        assertThat(pod.getTerminationGracePeriodSeconds()).isEqualTo(60);

        // the admin password: generated into the Secret, handed to the service
        V1EnvVar admin = r.env("RINGBATCH_SECURITY_ADMINPASSWORD");
        assertThat(admin.getValueFrom().getSecretKeyRef().getName()).isEqualTo(r.secret().getMetadata().getName());
        byte[] password = r.secret().getData().get(admin.getValueFrom().getSecretKeyRef().getKey());
        assertThat(new String(password, StandardCharsets.UTF_8)).matches("[A-Za-z0-9]{24}");
        assertThat(r.secret().getData().get("admin-username")).asString(StandardCharsets.UTF_8).isEqualTo("admin");
        assertThat(r.env("RINGBATCH_SECURITY_VIEWERPASSWORD")).isNull();
        assertThat(r.env("SPRING_DATASOURCE_URL")).isNull();
        // every replica signs "stay signed in" cookies with the same key, and knows its own name
        var key = r.env("RINGBATCH_SECURITY_REMEMBERMEKEY").getValueFrom().getSecretKeyRef();
        assertThat(new String(r.secret().getData().get(key.getKey()), StandardCharsets.UTF_8)).hasSize(48);
        assertThat(r.env("RINGBATCH_INSTANCEID").getValueFrom().getFieldRef().getFieldPath()).isEqualTo("metadata.name");
        assertThat(r.all(V1Service.class).get(0).getSpec().getSessionAffinity()).isEqualTo("None");

        // the Services select the pods; the helm test pod asks the Service's readiness
        for (V1Service service : r.all(V1Service.class)) {
            assertThat(service.getSpec().getSelector()).isEqualTo(sts.getSpec().getSelector().getMatchLabels());
            assertThat(service.getSpec().getPorts().get(0).getTargetPort().getStrValue()).isEqualTo("http");
        }
        assertThat(sts.getSpec().getTemplate().getMetadata().getLabels())
                .containsAllEntriesOf(sts.getSpec().getSelector().getMatchLabels());
        // helm-java renders the release's manifest without its hooks: the `helm test` pod is linted, and
        // asks the Service's readiness
        assertThat(Files.readString(CHART.resolve("templates/tests/test-health.yaml")))
                .contains("helm.sh/hook: test", "{{ include \"ringbatch.fullname\" . }}:{{ .Values.service.port }}"
                        + "/actuator/health/readiness");
        assertThat(r.one(V1PodDisruptionBudget.class).getSpec().getSelector().getMatchLabels())
                .isEqualTo(sts.getSpec().getSelector().getMatchLabels());
    }

    @Test
    void theProbesAreTheServicesOwnEndpoints() throws Exception {
        V1Container c = render().container();
        HttpClient http = HttpClient.newHttpClient();
        for (V1Probe probe : List.of(c.getStartupProbe(), c.getLivenessProbe(), c.getReadinessProbe())) {
            assertThat(probe.getHttpGet().getPort().getStrValue()).isEqualTo(c.getPorts().get(0).getName());
            String path = probe.getHttpGet().getPath();
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).as(path + ": " + response.body()).isEqualTo(200);
            assertThat(response.body()).contains("\"status\":\"UP\"");
        }
        assertThat(c.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/actuator/health/readiness");
        assertThat(c.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/actuator/health/liveness");
    }

    @Test
    void theConfigMapBindsToTheServicesPropertiesWithNothingLeftOver() {
        Rendered r = render("config.workers", 3, "config.io.engine", "blocking", "config.io.topology", "shared",
                "config.pipeline.splitSize", "32MB", "extraConfig.logging.level.io\\.ringbatch", "DEBUG");
        Map<String, Object> flat = flatten("", r.application(), new TreeMap<>());
        Map<String, Object> pipeline = new LinkedHashMap<>();
        Map<String, Object> rest = new LinkedHashMap<>();
        flat.forEach((k, v) -> (k.startsWith("ringbatch.pipeline.") ? pipeline : rest).put(k, v));

        RingbatchProperties properties = bind(rest, "ringbatch", RingbatchProperties.class);
        assertThat(properties.workers()).isEqualTo(3);
        assertThat(properties.dataDir()).isEqualTo(Path.of("/var/lib/ringbatch"));
        assertThat(properties.inputRoots()).containsExactly(Path.of("/data/input"));
        assertThat(properties.outputRoot()).isEqualTo(Path.of("/data/output"));
        assertThat(properties.io().engine().value()).isEqualTo("blocking");
        assertThat(properties.io().topology().name()).isEqualTo("SHARED");
        assertThat(properties.io().blockSize()).isEqualTo(DataSize.ofMegabytes(1));
        assertThat(properties.security().rememberMe()).isEqualTo(Duration.ofHours(8));
        PipelineProperties p = bind(pipeline, "ringbatch.pipeline", PipelineProperties.class);
        assertThat(p.splitSize()).isEqualTo(DataSize.ofMegabytes(32));
        assertThat(p.commitInterval()).isEqualTo(1048576);
        assertThat(p.commitBytes()).isEqualTo(DataSize.ofMegabytes(64));
        assertThat(p.commitTime()).isEqualTo(Duration.ofSeconds(1));
        assertThat(flat).containsEntry("logging.level.io.ringbatch", "DEBUG");

        // without config.workers the key is absent: the service sizes the executor from the CPUs it gets
        assertThat(ringbatch(render())).doesNotContainKey("workers");

        // and the check itself: a key the service does not know is caught
        Map<String, Object> wrong = new LinkedHashMap<>(rest);
        wrong.put("ringbatch.io.queue-deepth", 3);
        assertThatThrownBy(() -> bind(wrong, "ringbatch", RingbatchProperties.class))
                .hasStackTraceContaining("queue-deepth");
    }

    private static <T> T bind(Map<String, Object> flat, String prefix, Class<T> type) {
        Binder binder = new Binder(List.of(new MapConfigurationPropertySource(flat)), null,
                ApplicationConversionService.getSharedInstance());
        return binder.bind(prefix, Bindable.of(type), new NoUnboundElementsBindHandler(BindHandler.DEFAULT))
                .orElseThrow(() -> new AssertionError("nothing bound under " + prefix));
    }

    @Test
    void anIngressForTheDashboard() {
        Rendered r = render("ingress.enabled", true, "ingress.hostname", "jobs.example.com", "ingress.className", "nginx",
                "ingress.tls", true, "ingress.annotations.nginx\\.ingress\\.kubernetes\\.io/proxy-buffering", "off");
        V1Ingress ingress = r.one(V1Ingress.class);
        assertThat(ingress.getSpec().getIngressClassName()).isEqualTo("nginx");
        var rule = ingress.getSpec().getRules().get(0);
        assertThat(rule.getHost()).isEqualTo("jobs.example.com");
        var backend = rule.getHttp().getPaths().get(0).getBackend().getService();
        assertThat(backend.getName()).isEqualTo(r.all(V1Service.class).get(0).getMetadata().getName());
        assertThat(backend.getPort().getName()).isEqualTo("http");
        assertThat(ingress.getSpec().getTls().get(0).getSecretName()).isEqualTo("jobs.example.com-tls");
        assertThat(ingress.getMetadata().getAnnotations()).containsEntry("nginx.ingress.kubernetes.io/proxy-buffering", "off");
        assertThat(render().all(V1Ingress.class)).isEmpty();
    }

    @Test
    void anExternalPostgresqlAllowsReplicas() {
        Rendered r = render("networkPolicy.databaseCidr", "10.0.5.0/24", "database.external.enabled", true,
                "database.external.url", "jdbc:postgresql://pg:5432/ringbatch", "database.external.password", "pg-secret", "replicaCount", 3);
        assertThat(r.statefulSet().getSpec().getReplicas()).isEqualTo(3);
        // a dashboard session lives in one replica
        assertThat(r.all(V1Service.class).get(0).getSpec().getSessionAffinity()).isEqualTo("ClientIP");
        assertThat(r.env("SPRING_DATASOURCE_URL").getValue()).isEqualTo("jdbc:postgresql://pg:5432/ringbatch");
        assertThat(r.env("SPRING_DATASOURCE_USERNAME").getValue()).isEqualTo("ringbatch");
        var ref = r.env("SPRING_DATASOURCE_PASSWORD").getValueFrom().getSecretKeyRef();
        assertThat(new String(r.secret().getData().get(ref.getKey()), StandardCharsets.UTF_8)).isEqualTo("pg-secret");

        Rendered existing = render("networkPolicy.databaseCidr", "10.0.5.0/24", "database.external.enabled", true,
                "database.external.url", "jdbc:postgresql://pg:5432/ringbatch", "database.external.existingSecret", "pg-credentials",
                "database.external.existingSecretPasswordKey", "pw");
        var existingRef = existing.env("SPRING_DATASOURCE_PASSWORD").getValueFrom().getSecretKeyRef();
        assertThat(existingRef.getName()).isEqualTo("pg-credentials");
        assertThat(existingRef.getKey()).isEqualTo("pw");
        assertThat(existing.secret().getData()).doesNotContainKey("database-password");
    }

    static final Object[] CLUSTER = {"networkPolicy.databaseCidr", "10.0.5.10/32", "database.external.enabled", true,
            "database.external.url", "jdbc:postgresql://pg:5432/ringbatch", "database.external.password", "pw",
            "output.nfs.server", "nas.local", "output.nfs.path", "/exports/out", "output.readWriteMany", true};

    static Object[] cluster(Object... more) {
        Object[] all = java.util.Arrays.copyOf(CLUSTER, CLUSTER.length + more.length);
        System.arraycopy(more, 0, all, CLUSTER.length, more.length);
        return all;
    }

    @Test
    void workersAreADeploymentOfRoleWorkerOnTheSharedOutputVolumeThatNoServiceSelects() {
        Rendered r = render(cluster("workers.replicas", 3, "replicaCount", 2));
        assertThat(r.env("RINGBATCH_ROLE").getValue()).as("the StatefulSet").isEqualTo("combined");
        V1Deployment workers = r.one(V1Deployment.class);
        assertThat(workers.getSpec().getReplicas()).isEqualTo(3);
        var pod = workers.getSpec().getTemplate();
        V1Container c = pod.getSpec().getContainers().get(0);
        Map<String, V1EnvVar> env = new TreeMap<>();
        c.getEnv().forEach(e -> env.put(e.getName(), e));
        assertThat(env.get("RINGBATCH_ROLE").getValue()).isEqualTo("worker");
        assertThat(env.get("RINGBATCH_INSTANCEID").getValueFrom().getFieldRef().getFieldPath()).isEqualTo("metadata.name");
        assertThat(env.get("SPRING_DATASOURCE_URL").getValue()).isEqualTo("jdbc:postgresql://pg:5432/ringbatch");
        assertThat(env.get("SPRING_DATASOURCE_PASSWORD").getValueFrom().getSecretKeyRef().getKey())
                .isEqualTo(r.env("SPRING_DATASOURCE_PASSWORD").getValueFrom().getSecretKeyRef().getKey());
        // no volume of its own; the input read-only; the very output volume of the StatefulSet
        Map<String, V1Volume> volumes = new TreeMap<>();
        pod.getSpec().getVolumes().forEach(v -> volumes.put(v.getName(), v));
        assertThat(volumes.get("data").getEmptyDir()).isNotNull();
        assertThat(mount(c, "input").getReadOnly()).isTrue();
        assertThat(mount(c, "output").getReadOnly()).isNotEqualTo(Boolean.TRUE);
        assertThat(volumes.get("output")).isEqualTo(volume(r, "output"));
        assertThat(mount(c, "output").getMountPath()).isEqualTo(mount(r.container(), "output").getMountPath());
        assertThat(c.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/actuator/health/readiness");
        // neither the StatefulSet's selector nor any Service's takes the worker pods
        Map<String, String> labels = pod.getMetadata().getLabels();
        assertThat(labels).containsAllEntriesOf(workers.getSpec().getSelector().getMatchLabels());
        assertThat(labels.entrySet().containsAll(r.statefulSet().getSpec().getSelector().getMatchLabels().entrySet()))
                .as("the StatefulSet's selector takes a worker pod").isFalse();
        for (V1Service service : r.all(V1Service.class)) {
            assertThat(labels.entrySet().containsAll(service.getSpec().getSelector().entrySet()))
                    .as(service.getMetadata().getName() + " selects a worker pod").isFalse();
        }
        assertThat(r.all(V2HorizontalPodAutoscaler.class)).isEmpty();

        // every pod's work files on the shared output volume, beside the outputs; the pool holds the leases
        Map<String, Object> ringbatch = ringbatch(r);
        assertThat(ringbatch).containsEntry("work-dir", "/data/output/.ringbatch-work")
                .containsEntry("cluster", Map.of("enabled", true));
        Map<String, Object> flat = flatten("", r.application(), new TreeMap<>());
        assertThat(flat).containsEntry("spring.datasource.hikari.maximum-pool-size", 12); // 2 CPUs + 10
        Map<String, Object> ringbatchKeys = new TreeMap<>();
        flat.forEach((k, v) -> {
            if (k.startsWith("ringbatch.") && !k.startsWith("ringbatch.pipeline.")) {
                ringbatchKeys.put(k, v);
            }
        });
        RingbatchProperties properties = bind(ringbatchKeys, "ringbatch", RingbatchProperties.class);
        assertThat(properties.workDir()).isEqualTo(Path.of("/data/output/.ringbatch-work"));
        assertThat(properties.cluster().enabled()).isTrue();
        assertThat(flatten("", render(cluster("config.workers", 6)).application(), new TreeMap<>()))
                .containsEntry("spring.datasource.hikari.maximum-pool-size", 16);
        assertThat(flatten("", render(cluster("database.external.poolSize", 40)).application(), new TreeMap<>()))
                .containsEntry("spring.datasource.hikari.maximum-pool-size", 40);

        // the workers reach the database (and DNS), and only the scraper and the release's pods reach them
        V1NetworkPolicy policy = r.all(V1NetworkPolicy.class).stream()
                .filter(p -> p.getMetadata().getName().endsWith("-worker")).findFirst().orElseThrow();
        assertThat(policy.getSpec().getPodSelector().getMatchLabels())
                .isEqualTo(workers.getSpec().getSelector().getMatchLabels());
        assertThat(policy.getSpec().getEgress()).hasSize(2);
        assertThat(policy.getSpec().getEgress().get(1).getTo()).singleElement()
                .satisfies(peer -> assertThat(peer.getIpBlock().getCidr()).isEqualTo("10.0.5.10/32"));
        assertThat(policy.getSpec().getEgress().get(1).getPorts()).singleElement()
                .satisfies(p -> assertThat(p.getPort().getIntValue()).isEqualTo(5432));

        // PostgreSQL without a shared volume: each pod runs its own jobs' partitions, work files at home
        Rendered own = render("networkPolicy.databaseCidr", "10.0.5.10/32", "database.external.enabled", true,
                "database.external.url", "jdbc:postgresql://pg:5432/ringbatch", "database.external.password", "pw");
        assertThat(ringbatch(own)).doesNotContainKey("work-dir").containsEntry("cluster", Map.of("enabled", false));
        assertThat(own.all(V1Deployment.class)).isEmpty();
        assertThat(ringbatch(render())).doesNotContainKey("cluster").doesNotContainKey("work-dir");
    }

    @Test
    void anAutoscalerOfTheWorkersOnCpu() {
        Rendered r = render(cluster("workers.autoscaling.enabled", true, "workers.autoscaling.maxReplicas", 20));
        V1Deployment workers = r.one(V1Deployment.class);
        assertThat(workers.getSpec().getReplicas()).as("the autoscaler's to set").isNull();
        V2HorizontalPodAutoscaler hpa = r.one(V2HorizontalPodAutoscaler.class);
        assertThat(hpa.getSpec().getScaleTargetRef().getKind()).isEqualTo("Deployment");
        assertThat(hpa.getSpec().getScaleTargetRef().getName()).isEqualTo(workers.getMetadata().getName());
        assertThat(hpa.getSpec().getMinReplicas()).isEqualTo(1);
        assertThat(hpa.getSpec().getMaxReplicas()).isEqualTo(20);
        assertThat(hpa.getSpec().getMetrics()).singleElement().satisfies(m -> {
            assertThat(m.getResource().getName()).isEqualTo("cpu");
            assertThat(m.getResource().getTarget().getAverageUtilization()).isEqualTo(80);
        });
    }

    @Test
    void theSchemaRefusesWorkersWithoutPostgresqlOrASharedVolume() {
        assertRefused(new Object[] {"workers.replicas", 1}, "enabled");
        assertRefused(new Object[] {"workers.autoscaling.enabled", true}, "enabled");
        assertRefused(new Object[] {"networkPolicy.databaseCidr", "10.0.5.10/32", "database.external.enabled", true,
                "database.external.url", "jdbc:postgresql://pg:5432/ringbatch", "database.external.password", "pw",
                "workers.replicas", 2}, "readWriteMany");
        assertRefused(cluster("workers.replicas", -1), "/workers/replicas");
        assertRefused(cluster("workers.autoscaling.targetCPUUtilizationPercentage", 0), "targetCPUUtilizationPercentage");
        assertRefused(cluster("database.external.poolSize", 0), "poolSize");
        assertThat(render(cluster("workers.replicas", 1)).all(V1Deployment.class)).hasSize(1);
    }

    @Test
    void anExistingSecretReplacesTheChartsOwn() {
        Rendered r = render("auth.existingSecret", "my-logins", "auth.existingSecretAdminPasswordKey", "admin",
                "metrics.serviceMonitor.enabled", true);
        assertThat(r.secret().getData()).containsOnlyKeys("remember-me-key", "metrics-username", "metrics-password");
        var admin = r.env("RINGBATCH_SECURITY_ADMINPASSWORD").getValueFrom().getSecretKeyRef();
        assertThat(admin.getName()).isEqualTo("my-logins");
        assertThat(admin.getKey()).isEqualTo("admin");
        var viewer = r.env("RINGBATCH_SECURITY_VIEWERPASSWORD").getValueFrom().getSecretKeyRef();
        assertThat(viewer.getName()).isEqualTo("my-logins");
        assertThat(viewer.getOptional()).isTrue();
        Map<String, Object> endpoint = endpoint(r.custom().get(0));
        assertThat(flatten("", endpoint, new TreeMap<>())).as("the scraper's login is the chart's, not the admin's")
                .containsEntry("basicAuth.password.name", r.secret().getMetadata().getName())
                .containsEntry("basicAuth.password.key", "metrics-password");

        Rendered viewerToo = render("auth.viewerPassword", "look-only");
        var key = viewerToo.env("RINGBATCH_SECURITY_VIEWERPASSWORD").getValueFrom().getSecretKeyRef().getKey();
        assertThat(new String(viewerToo.secret().getData().get(key), StandardCharsets.UTF_8)).isEqualTo("look-only");
    }

    @Test
    void eachSeccompChoice() {
        assertThat(seccomp(render("ioUring.seccompProfile", "localhost")).getType()).isEqualTo("Localhost");
        assertThat(seccomp(render("ioUring.seccompProfile", "unconfined")).getType()).isEqualTo("Unconfined");
        var runtime = seccomp(render("ioUring.seccompProfile", "runtimeDefault"));
        assertThat(runtime.getType()).isEqualTo("RuntimeDefault");
        assertThat(runtime.getLocalhostProfile()).isNull();
        assertThat(seccomp(render("ioUring.localhostProfile", "operator/ringbatch.json")).getLocalhostProfile())
                .isEqualTo("operator/ringbatch.json");
    }

    /**
     * files/ringbatch-io-uring.json: an allow-list (moby's, resolved for a container without capabilities; see
     * files/README.md) plus io_uring, refusing everything else; plain OCI fields only, because containerd
     * ignores moby's conditions and would apply CAP_SYS_ADMIN's rules to every pod.
     */
    @Test
    void theSeccompProfileIsTheRuntimeDefaultsAllowListPlusIoUring() throws Exception {
        tools.jackson.databind.JsonNode profile = tools.jackson.databind.json.JsonMapper.builder().build()
                .readTree(CHART.resolve("files/ringbatch-io-uring.json").toFile());
        assertThat(profile.get("defaultAction").asString()).isEqualTo("SCMP_ACT_ERRNO");
        assertThat(profile.get("defaultErrnoRet").asInt()).as("EPERM").isEqualTo(1);
        assertThat(profile.propertyNames()).isSubsetOf("defaultAction", "defaultErrnoRet", "architectures", "syscalls");
        assertThat(profile.get("architectures").values()).extracting(a -> a.asString())
                .contains("SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64");

        Set<String> allowed = new java.util.TreeSet<>();
        Set<String> allowedWithArguments = new java.util.TreeSet<>();
        for (tools.jackson.databind.JsonNode rule : profile.get("syscalls")) {
            assertThat(rule.propertyNames()).as("%s", rule).isSubsetOf("names", "action", "errnoRet", "args");
            List<String> names = rule.get("names").values().stream().map(n -> n.asString()).toList();
            if (rule.get("action").asString().equals("SCMP_ACT_ALLOW")) {
                (rule.has("args") ? allowedWithArguments : allowed).addAll(names);
            } else {
                assertThat(rule.get("action").asString()).as("%s", rule).isEqualTo("SCMP_ACT_ERRNO");
            }
            if (names.contains("clone3")) {
                assertThat(rule.get("errnoRet").asInt()).as("clone3: ENOSYS, so that glibc uses clone").isEqualTo(38);
            }
        }
        assertThat(allowed).as("a runtime default's allow-list").hasSizeGreaterThan(300)
                .contains("io_uring_setup", "io_uring_enter", "io_uring_register", "read", "openat", "futex", "mmap")
                .doesNotContain("unshare", "keyctl", "add_key", "request_key", "mount", "setns", "bpf", "clone",
                        "clone3", "socket", "perf_event_open", "init_module", "kexec_load", "reboot");
        assertThat(allowedWithArguments).as("clone without namespace flags; socket and personality for some values")
                .containsExactlyInAnyOrder("clone", "socket", "personality");
    }

    /**
     * Seccomp does not see what goes through a ring, so the chart's notes name every operation the engine
     * submits: each opcode constant of the engine (Uring's byte OP_ fields) is named in NOTES, the chart's
     * files/README.md and docs/deployment.md.
     */
    @Test
    void theNotesNameEveryRingOperationTheEngineSubmits() throws Exception {
        List<String> ops = new ArrayList<>();
        for (java.lang.reflect.Field f : Class.forName("io.ringbatch.io.Uring").getDeclaredFields()) {
            if (f.getName().startsWith("OP_") && f.getType() == byte.class) {
                ops.add("IORING_" + f.getName());
            }
        }
        assertThat(ops).contains("IORING_OP_READ", "IORING_OP_OPENAT2", "IORING_OP_STATX", "IORING_OP_CLOSE");
        for (Path doc : List.of(CHART.resolve("templates/NOTES.txt"), CHART.resolve("files/README.md"),
                Path.of("docs", "deployment.md"))) {
            assertThat(Files.readString(doc)).as("%s names what the engine submits", doc).contains(ops);
        }
    }

    private static io.kubernetes.client.openapi.models.V1SeccompProfile seccomp(Rendered r) {
        return r.statefulSet().getSpec().getTemplate().getSpec().getSecurityContext().getSeccompProfile();
    }

    @Test
    void aServiceMonitorScrapesThePrometheusEndpointAsTheMetricsUser() {
        Rendered r = render("metrics.serviceMonitor.enabled", true, "metrics.serviceMonitor.labels.release", "prom",
                "metrics.serviceMonitor.interval", "15s");
        assertThat(r.custom()).hasSize(1);
        Map<String, Object> sm = r.custom().get(0);
        assertThat(sm.get("apiVersion")).isEqualTo("monitoring.coreos.com/v1");
        assertThat(sm.keySet()).containsExactlyInAnyOrder("apiVersion", "kind", "metadata", "spec");
        Map<String, Object> endpoint = endpoint(sm);
        assertThat(endpoint.keySet()).isSubsetOf(Set.of("port", "path", "interval", "scrapeTimeout", "basicAuth"));
        assertThat(endpoint).containsEntry("port", r.container().getPorts().get(0).getName())
                .containsEntry("path", "/actuator/prometheus").containsEntry("interval", "15s");
        Map<String, Object> auth = flatten("", endpoint.get("basicAuth"), new TreeMap<>());
        V1Secret secret = r.secret();
        assertThat(auth.get("username.name")).isEqualTo(secret.getMetadata().getName());
        assertThat(auth.get("password.name")).isEqualTo(secret.getMetadata().getName());
        // the user metrics, whose password the service gets from the same key: not admin's
        assertThat(new String(secret.getData().get((String) auth.get("username.key")), StandardCharsets.UTF_8))
                .isEqualTo("metrics");
        var password = r.env("RINGBATCH_SECURITY_METRICSPASSWORD").getValueFrom().getSecretKeyRef();
        assertThat(password.getName()).isEqualTo(secret.getMetadata().getName());
        assertThat(password.getKey()).isEqualTo(auth.get("password.key"));
        assertThat(new String(secret.getData().get(password.getKey()), StandardCharsets.UTF_8)).hasSize(32)
                .isNotEqualTo(new String(secret.getData().get("admin-password"), StandardCharsets.UTF_8));
        @SuppressWarnings("unchecked")
        Map<String, Object> labels = (Map<String, Object>) ((Map<String, Object>) sm.get("metadata")).get("labels");
        assertThat(labels).containsEntry("release", "prom");
        assertThat(render().custom()).isEmpty();
        assertThat(render().env("RINGBATCH_SECURITY_METRICSPASSWORD")).as("no scraper, no metrics user").isNull();
    }

    @Test
    void aNetworkPolicyLetsInTheIngressAndPrometheusAndLetsOutDnsAndTheDatabaseOnly() {
        Rendered r = render();
        V1NetworkPolicy policy = r.one(V1NetworkPolicy.class);
        var spec = policy.getSpec();
        assertThat(spec.getPolicyTypes()).containsExactlyInAnyOrder("Ingress", "Egress");
        assertThat(spec.getPodSelector().getMatchLabels())
                .isEqualTo(r.statefulSet().getSpec().getSelector().getMatchLabels());
        assertThat(spec.getIngress()).singleElement().satisfies(rule -> {
            assertThat(rule.getPorts()).singleElement().satisfies(p -> assertThat(p.getPort().getStrValue())
                    .isEqualTo(r.container().getPorts().get(0).getName()));
            assertThat(rule.getFrom()).hasSize(3);
            assertThat(rule.getFrom().get(0).getPodSelector().getMatchLabels())
                    .as("the release's own pods").isEqualTo(spec.getPodSelector().getMatchLabels());
            assertThat(rule.getFrom().get(1).getNamespaceSelector().getMatchLabels())
                    .containsEntry("kubernetes.io/metadata.name", "ingress-nginx");
            assertThat(rule.getFrom().get(2).getNamespaceSelector().getMatchLabels())
                    .containsEntry("kubernetes.io/metadata.name", "monitoring");
            assertThat(rule.getFrom()).allSatisfy(peer -> assertThat(peer.getIpBlock()).isNull());
        });
        // out: DNS and the release's pods; with H2 nothing else
        assertThat(spec.getEgress()).hasSize(2);
        assertThat(spec.getEgress().get(0).getPorts()).allSatisfy(p -> assertThat(p.getPort().getIntValue())
                .isEqualTo(53));
        assertThat(spec.getEgress().get(0).getTo().get(0).getPodSelector().getMatchLabels())
                .containsEntry("k8s-app", "kube-dns");
        assertThat(spec.getEgress().get(1).getTo().get(0).getPodSelector().getMatchLabels())
                .isEqualTo(spec.getPodSelector().getMatchLabels());

        Rendered pg = render("database.external.enabled", true, "database.external.url",
                "jdbc:postgresql://pg:5432/ringbatch", "database.external.password", "pw",
                "networkPolicy.databaseCidr", "10.0.5.10/32");
        var pgSpec = pg.one(V1NetworkPolicy.class).getSpec();
        assertThat(pgSpec.getEgress()).hasSize(3);
        assertThat(pgSpec.getEgress().get(2).getTo()).singleElement()
                .satisfies(peer -> assertThat(peer.getIpBlock().getCidr()).isEqualTo("10.0.5.10/32"));
        assertThat(pgSpec.getEgress().get(2).getPorts()).singleElement()
                .satisfies(p -> assertThat(p.getPort().getIntValue()).isEqualTo(5432));
        Rendered selected = render("database.external.enabled", true, "database.external.url",
                "jdbc:postgresql://pg:5432/ringbatch", "database.external.password", "pw",
                "networkPolicy.databaseSelector.podSelector.matchLabels.app", "postgres");
        assertThat(selected.one(V1NetworkPolicy.class).getSpec().getEgress().get(2).getTo()).singleElement()
                .satisfies(peer -> assertThat(peer.getPodSelector().getMatchLabels()).containsEntry("app", "postgres"));
        assertRefused(new Object[] {"database.external.enabled", true, "database.external.url",
                "jdbc:postgresql://pg:5432/ringbatch", "database.external.password", "pw"}, "networkPolicy.databaseCidr");
        assertThat(render("networkPolicy.enabled", false).all(V1NetworkPolicy.class)).isEmpty();
    }

    @Test
    void trustedProxiesFromValues() {
        assertThat(((Map<?, ?>) ringbatch(render()).get("security")).get("trusted-proxies")).isEqualTo(List.of());
        Rendered r = render("config.security.trustedProxies[0]", "10.42.0.0/16");
        assertThat(((Map<?, ?>) ringbatch(r).get("security")).get("trusted-proxies")).isEqualTo(List.of("10.42.0.0/16"));
        assertRefused("config.security.trustedProxies[0]", "the ingress", "trustedProxies");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> endpoint(Map<String, Object> serviceMonitor) {
        Map<String, Object> spec = (Map<String, Object>) serviceMonitor.get("spec");
        assertThat(spec.keySet()).isSubsetOf(Set.of("selector", "namespaceSelector", "endpoints"));
        return ((List<Map<String, Object>>) spec.get("endpoints")).get(0);
    }

    @Test
    void inputAndOutputVolumesFromValues() {
        Rendered r = render("input.nfs.server", "nas.local", "input.nfs.path", "/exports/logs",
                "output.existingClaim", "results", "persistence.enabled", false);
        assertThat(volume(r, "input").getNfs().getServer()).isEqualTo("nas.local");
        assertThat(volume(r, "input").getNfs().getPath()).isEqualTo("/exports/logs");
        assertThat(volume(r, "output").getPersistentVolumeClaim().getClaimName()).isEqualTo("results");
        assertThat(volume(r, "data").getEmptyDir()).isNotNull();
        assertThat(r.statefulSet().getSpec().getVolumeClaimTemplates()).isNullOrEmpty();

        Rendered host = render("input.hostPath", "/srv/in", "output.hostPath", "/srv/out");
        assertThat(volume(host, "input").getHostPath().getPath()).isEqualTo("/srv/in");
        assertThat(volume(host, "output").getHostPath().getPath()).isEqualTo("/srv/out");
        assertThat(volume(render(), "input").getEmptyDir()).isNotNull();
    }

    /**
     * SIGTERM gives the running jobs shutdownTimeout (the service's own Spring property, bound here as
     * Boot binds it) to stop at a commit; the pod's grace period must leave room after that for the rest
     * of the shutdown, or Kubernetes kills the service while it closes.
     */
    @Test
    void theShutdownTimeoutIsTheServicesAndTheGracePeriodLeavesRoomBeyondIt() {
        for (Object[] c : new Object[][] {{"45s", 60}, {"2m", 130}, {"500ms", 11}, {"1h", 3610}}) {
            Rendered r = render("shutdownTimeout", c[0], "terminationGracePeriodSeconds", c[1]);
            Duration timeout = shutdownTimeout(r);
            long grace = r.statefulSet().getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds();
            assertThat(grace).as("grace for %s", c[0]).isEqualTo(((Integer) c[1]).longValue());
            assertThat(Duration.ofSeconds(grace)).as("grace for %s", c[0])
                    .isGreaterThanOrEqualTo(timeout.plusSeconds(10));
        }
        assertThat(shutdownTimeout(render("shutdownTimeout", "2m", "terminationGracePeriodSeconds", 130)))
                .isEqualTo(Duration.ofMinutes(2));
        assertRefused(new Object[] {"shutdownTimeout", "2m", "terminationGracePeriodSeconds", 129},
                "terminationGracePeriodSeconds (129) must be at least shutdownTimeout (2m) + 10s");
        assertRefused(new Object[] {"shutdownTimeout", "55s"}, "at least shutdownTimeout (55s) + 10s");
        assertRefused(new Object[] {"shutdownTimeout", "1d", "terminationGracePeriodSeconds", 86409}, "+ 10s");
        // Spring Boot reads one number with one unit: a compound duration would stop the service at start-up
        assertRefused("shutdownTimeout", "1m30s", "/shutdownTimeout");
    }

    /** spring.lifecycle.timeout-per-shutdown-phase of the ConfigMap, bound as the service binds it. */
    private static Duration shutdownTimeout(Rendered r) {
        Map<String, Object> flat = flatten("", r.application(), new TreeMap<>());
        Map<String, Object> lifecycle = new LinkedHashMap<>();
        flat.forEach((k, v) -> {
            if (k.startsWith("spring.lifecycle.")) {
                lifecycle.put(k, v);
            }
        });
        return bind(lifecycle, "spring.lifecycle", LifecycleProperties.class).getTimeoutPerShutdownPhase();
    }

    @Test
    void theSchemaRefusesBadValues() {
        assertRefused("replicaCount", 2, "maximum");
        assertRefused("ioUring.seccompProfile", "privileged", "seccompProfile");
        assertRefused("service.port", "http", "/service/port");
        assertRefused("config.io.engine", "fast", "/config/io/engine");
        assertRefused("config.io.blockSize", "1 megabyte", "/config/io/blockSize");
        assertRefused("config.workers", 0, "/config/workers");
        assertRefused("image.pullPolicy", "Sometimes", "/image/pullPolicy");
        assertRefused("persistence.size", "lots", "/persistence/size");
        assertRefused("replikaCount", 1, "replikaCount");
        assertRefused("database.external.enabled", true, "url");
    }

    private static void assertRefused(String key, Object value, String mentioned) {
        assertRefused(new Object[] {key, value}, mentioned);
    }

    private static void assertRefused(Object[] sets, String mentioned) {
        assertThatThrownBy(() -> render(sets)).as(java.util.Arrays.toString(sets))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining(mentioned);
    }

    private static Map<String, Object> ringbatch(Rendered r) {
        @SuppressWarnings("unchecked")
        Map<String, Object> ringbatch = (Map<String, Object>) r.application().get("ringbatch");
        return ringbatch;
    }

    private static V1VolumeMount mount(V1Container c, String name) {
        return c.getVolumeMounts().stream().filter(m -> m.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no mount " + name));
    }

    private static V1Volume volume(Rendered r, String name) {
        return r.statefulSet().getSpec().getTemplate().getSpec().getVolumes().stream()
                .filter(v -> v.getName().equals(name)).findFirst().orElseThrow(() -> new AssertionError("no volume " + name));
    }

    /** The n-th text between the markers in pom.xml (0: the first). */
    private static String pomProperty(String start, String end, int n) throws Exception {
        String pom = Files.readString(Path.of("pom.xml"));
        Matcher m = Pattern.compile(Pattern.quote(start) + "(.*?)" + Pattern.quote(end)).matcher(pom);
        for (int i = 0; i <= n; i++) {
            assertThat(m.find()).as(start + " in pom.xml").isTrue();
        }
        return m.group(1).trim();
    }
}
