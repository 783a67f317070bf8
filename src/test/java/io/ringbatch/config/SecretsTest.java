package io.ringbatch.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.ringbatch.RingbatchApplication;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * No secret in logs or responses: the configured passwords and the remember-me key never appear in what
 * the service logs (start-up, failed logins, requests) nor in any answer of its endpoints, for any user,
 * including the actuator's and the API description.
 */
@ExtendWith(OutputCaptureExtension.class)
class SecretsTest {
    static final String ADMIN = "Adm1n-Pa55-zq81";
    static final String VIEWER = "V1ew-Pa55-kk27";
    static final String KEY = "R3member-Key-0123456789abcdefghijklmnop";

    private static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void secretsAreNeitherLoggedNorAnswered(@TempDir Path dataDir, CapturedOutput output) throws Exception {
        List<String> bodies = new ArrayList<>();
        try (ConfigurableApplicationContext app = new SpringApplicationBuilder(RingbatchApplication.class).run(
                "--server.port=0", "--ringbatch.data-dir=" + dataDir, "--ringbatch.security.admin-password=" + ADMIN,
                "--ringbatch.security.viewer-password=" + VIEWER, "--ringbatch.security.remember-me-key=" + KEY,
                "--logging.level.org.springframework.security=DEBUG")) {
            String base = "http://localhost:" + app.getEnvironment().getProperty("local.server.port");
            HttpClient http = HttpClient.newHttpClient();
            List<String> paths = List.of("/api/me", "/api/overview", "/api/jobs", "/api/operations", "/v3/api-docs",
                    "/actuator", "/actuator/health", "/actuator/info", "/actuator/env", "/actuator/configprops",
                    "/actuator/metrics", "/actuator/prometheus", "/actuator/beans", "/login", "/");
            for (String auth : List.of(basic("admin", ADMIN), basic("viewer", VIEWER), basic("admin", "wrong"), "")) {
                for (String path : paths) {
                    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path));
                    if (!auth.isEmpty()) {
                        request.header("Authorization", auth);
                    }
                    HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
                    bodies.add(path + " " + response.statusCode() + " " + response.headers().map() + " " + response.body());
                }
            }
        }
        String everything = String.join("\n", bodies);
        assertThat(everything).contains("/api/me 200").contains("\"name\":\"viewer\"");
        for (String secret : List.of(ADMIN, VIEWER, KEY)) {
            assertThat(everything).as("answers").doesNotContain(secret);
            assertThat(output.getOut() + output.getErr()).as("logs").doesNotContain(secret);
        }
        // the failed logins are logged, by user name only
        assertThat(output.getOut()).contains("failed login for user 'admin'");
    }
}
