package io.ringbatch.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.ringbatch.ServiceTest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.web.server.LocalServerPort;

/**
 * Requests that Tomcat refuses before the application sees them (an encoded slash, backslash or NUL in the
 * path, a request line past the header limit) are answered as RFC 9457 problems too, without Tomcat's page.
 */
@ServiceTest
class ContainerRefusalTest {
    @LocalServerPort
    int port;

    @Test
    void requestsTomcatRefusesAreProblemsToo() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        for (String path : List.of("/api/jobs/a%2Fb", "/api/jobs/a%5Cb", "/api/jobs/a%00b", "/api/jobs?q=" + "x".repeat(9000))) {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).as(path).isEqualTo(400);
            assertThat(response.headers().firstValue("Content-Type").orElse("")).as(path)
                    .startsWith("application/problem+json");
            assertThat(response.body()).as(path).contains("\"status\":400").contains("\"title\":\"Bad Request\"")
                    .doesNotContain("Tomcat").doesNotContain("<html");
            tools.jackson.databind.json.JsonMapper.builder().build().readTree(response.body());
        }
    }
}
