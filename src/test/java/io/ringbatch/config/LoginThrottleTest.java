package io.ringbatch.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.Socket;
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
 * Behind proxies: only a trusted proxy's {@code X-Forwarded-For} counts, and then each client is throttled
 * by its own address.
 * <p>
 * Its own context: a low login limit (3), which would lock other classes out, and a clock it moves.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "ringbatch.security.admin-password=right", "ringbatch.security.viewer-password=viewer-right",
        "ringbatch.security.login-attempts=3", "ringbatch.security.login-window=3s",
        // as on Kubernetes, where Boot makes Tomcat trust X-Forwarded-For from every private address
        "spring.main.cloud-platform=kubernetes",
        // the test's own client (127.0.0.1) is the proxy; a client bound to 127.0.0.2 is not
        "ringbatch.security.trusted-proxies=127.0.0.1/32"})
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

    /** A basic login from a trusted proxy on behalf of {@code client}. */
    private HttpResponse<String> viaProxy(String client, String user, String password) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/api/me"))
                .header("X-Forwarded-For", client).header("Authorization", "Basic " + Base64.getEncoder()
                        .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8))).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void behindATrustedProxyEachClientIsThrottledByItsOwnAddressAndUserNamesAreFolded() throws Exception {
        for (int i = 0; i < 3; i++) {
            assertThat(viaProxy("203.0.113.7", i % 2 == 0 ? "ADMIN" : "Admin", "wrong").statusCode()).isEqualTo(401);
        }
        assertThat(viaProxy("203.0.113.7", "admin", "right").statusCode()).as("the client that failed").isEqualTo(429);
        assertThat(viaProxy("203.0.113.8", "admin", "right").statusCode()).as("another client of the proxy")
                .isEqualTo(200);
        assertThat(basic("admin", "right").statusCode()).as("the proxy's own address").isEqualTo(200);

        // the proxy says the client came over TLS: the cookies are Secure
        HttpResponse<String> page = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/login"))
                .header("X-Forwarded-For", "203.0.113.9").header("X-Forwarded-Proto", "https").build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(page.headers().allValues("Set-Cookie")).filteredOn(c -> c.startsWith("JSESSIONID="))
                .singleElement().asString().contains("Secure").contains("SameSite=Lax");
        HttpResponse<String> plain = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/login"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(plain.headers().allValues("Set-Cookie")).filteredOn(c -> c.startsWith("JSESSIONID="))
                .singleElement().asString().doesNotContain("Secure");
    }

    /** A basic login over a connection from 127.0.0.2, not a trusted proxy, naming itself another client. */
    private int untrusted(String forwardedFor, String user, String password) throws Exception {
        try (Socket socket = new Socket()) {
            socket.bind(new InetSocketAddress("127.0.0.2", 0));
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            socket.setSoTimeout(10_000);
            String request = "GET /api/me HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Forwarded-For: "
                    + forwardedFor + "\r\nAuthorization: Basic " + Base64.getEncoder().encodeToString(
                    (user + ":" + password).getBytes(StandardCharsets.UTF_8)) + "\r\n\r\n";
            socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
            String status = new String(socket.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
            return Integer.parseInt(status.substring(9, 12));
        }
    }

    @Test
    void anUntrustedClientCannotNameANewAddressForEachGuess() throws Exception {
        for (int i = 0; i < 3; i++) {
            assertThat(untrusted("198.51.100." + i, "viewer", "guess" + i)).isEqualTo(401);
        }
        assertThat(untrusted("198.51.100.99", "viewer", "viewer-right")).isEqualTo(429);
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
