package io.ringbatch.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Failed logins are rate-limited, over HTTP basic and the login form: after the allowed failures even the
 * right password is refused (429 with Retry-After, or the form with a message) until the window moves
 * on; other users from the same address are not locked out by one user's failures; memory stays bounded.
 * <p>
 * Its own context: a low login limit (3), which would lock other classes out, and a clock it moves.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "ringbatch.security.admin-password=right", "ringbatch.security.viewer-password=viewer-right",
        "ringbatch.security.login-attempts=3", "ringbatch.security.login-window=3s"})
@DirtiesContext
@Timeout(60)
class LoginThrottleTest {
    @TempDir
    static Path dataDir;

    /** The service's clock, which this test moves on instead of waiting for the window to pass. */
    static final MovableClock CLOCK = new MovableClock();

    @TestConfiguration(proxyBeanMethods = false)
    static class Time {
        @Bean
        @Primary
        Clock movableClock() {
            return CLOCK;
        }
    }

    /** A clock that stands still until the test moves it. */
    static final class MovableClock extends Clock {
        private volatile Instant now = Instant.now();

        void advance(Duration by) {
            now = now.plus(by);
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return Clock.fixed(now, zone);
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    @DynamicPropertySource
    static void dirs(DynamicPropertyRegistry registry) {
        registry.add("ringbatch.data-dir", () -> dataDir.toString());
    }

    @LocalServerPort
    int port;

    @Autowired
    LoginThrottle throttle;

    private final HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();

    private HttpResponse<String> basic(String user, String password) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/api/me"))
                .header("Authorization", "Basic " + Base64.getEncoder().encodeToString((user + ":" + password)
                        .getBytes(StandardCharsets.UTF_8))).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void basicLoginsAreRefusedAfterTooManyFailuresUntilTheWindowMovesOn() throws Exception {
        for (int i = 0; i < 3; i++) {
            assertThat(basic("admin", "wrong" + i).statusCode()).isEqualTo(401);
        }
        HttpResponse<String> refused = basic("admin", "right");
        assertThat(refused.statusCode()).isEqualTo(429);
        assertThat(refused.headers().firstValue("Retry-After")).hasValueSatisfying(v ->
                assertThat(Integer.parseInt(v)).isBetween(1, 3));
        assertThat(refused.headers().firstValue("Content-Type").orElseThrow()).startsWith("application/problem+json");
        assertThat(refused.body()).contains("too many failed logins");
        // another user from the same address is not locked out by admin's failures
        assertThat(basic("viewer", "viewer-right").statusCode()).isEqualTo(200);

        CLOCK.advance(Duration.ofMillis(2999));
        assertThat(basic("admin", "right").statusCode()).as("a millisecond before the window moves on").isEqualTo(429);
        CLOCK.advance(Duration.ofMillis(1));
        assertThat(basic("admin", "right").statusCode()).isEqualTo(200);
    }

    @Test
    void theLoginFormSaysSoToo() throws Exception {
        HttpResponse<String> page = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/login"))
                .build(), HttpResponse.BodyHandlers.ofString());
        String token = page.body().replaceAll("(?s).*name=\"_csrf\" value=\"([^\"]+)\".*", "$1");
        String session = page.headers().allValues("Set-Cookie").stream().filter(c -> c.startsWith("JSESSIONID="))
                .findFirst().orElseThrow().split(";")[0];
        String location = null;
        for (int i = 0; i < 4; i++) {
            HttpResponse<String> post = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/login"))
                    .header("Cookie", session).header("Content-Type", "application/x-www-form-urlencoded")
                    .POST(HttpRequest.BodyPublishers.ofString("username=viewer&password=" + (i < 3 ? "nope" : "viewer-right")
                            + "&_csrf=" + URLEncoder.encode(token, StandardCharsets.UTF_8))).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(post.statusCode()).isEqualTo(302);
            location = post.headers().firstValue("Location").orElseThrow();
            if (i < 3) {
                assertThat(location).endsWith("/login?error");
            }
        }
        assertThat(location).contains("/login?locked=");
        String locked = http.send(HttpRequest.newBuilder(URI.create(location.startsWith("http") ? location
                : "http://localhost:" + port + location)).build(), HttpResponse.BodyHandlers.ofString()).body();
        assertThat(locked).contains("Too many failed sign-ins");
    }

    @Test
    void memoryStaysBounded() {
        LoginThrottle own = new LoginThrottle(3, Duration.ofMinutes(5), Clock.systemUTC());
        for (int i = 0; i < 3 * LoginThrottle.MAX_KEYS; i++) {
            own.failed("10.0." + (i / 256) + "." + (i % 256), "u" + i, 1000);
        }
        assertThat(own.size()).isLessThanOrEqualTo(LoginThrottle.MAX_KEYS + 1);
    }
}
