package io.ringbatch.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import jakarta.servlet.http.Cookie;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.datasource.DriverManagerDataSource;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.mock.web.MockHttpServletResponse;
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.core.userdetails.User;
import org.springframework.security.provisioning.InMemoryUserDetailsManager;

/**
 * "Stay signed in" cookies end with a sign-out and with a changed password, through the table the
 * migrations make (on an H2 database, as the service's; SchemaMigrationTest runs them on PostgreSQL).
 */
class RememberMeRevocationTest {
    private static final String KEY = "k".repeat(40);
    private LoginRevocations revocations;
    private RevocableRememberMeServices services;

    @BeforeEach
    void database() {
        DriverManagerDataSource dataSource = new DriverManagerDataSource(
                "jdbc:h2:mem:revocations-" + System.nanoTime() + ";DB_CLOSE_DELAY=-1", "sa", "");
        Flyway.configure().dataSource(dataSource).load().migrate();
        // Spring dates the cookies by the system clock
        revocations = new LoginRevocations(dataSource, Clock.systemUTC());
        revocations.passwords(Map.of("admin", SecurityConfiguration.hmac(KEY, "first")));
        var users = new InMemoryUserDetailsManager(User.withUsername("admin").password("{noop}pw").roles("VIEWER").build());
        services = new RevocableRememberMeServices(KEY, users, Map.of("admin", "signing-fingerprint"), revocations);
        services.setTokenValiditySeconds(8 * 3600);
        nextMillisecond();
    }

    /** Times are milliseconds: what happens next happens after what happened so far. */
    private static void nextMillisecond() {
        long then = System.currentTimeMillis();
        await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(1))
                .until(() -> System.currentTimeMillis() > then);
    }

    private Cookie login() {
        MockHttpServletRequest form = new MockHttpServletRequest("POST", "/login");
        form.setServletPath("/login");
        form.setParameter("remember-me", "true");
        MockHttpServletResponse response = new MockHttpServletResponse();
        services.loginSuccess(form, response, UsernamePasswordAuthenticationToken.authenticated("admin", "pw",
                User.withUsername("admin").password("pw").roles("VIEWER").build().getAuthorities()));
        Cookie cookie = response.getCookie(RevocableRememberMeServices.COOKIE);
        assertThat(cookie).as("the form set the cookie").isNotNull();
        assertThat(cookie.getAttribute("SameSite")).isEqualTo("Lax");
        return cookie;
    }

    private boolean logsIn(Cookie cookie) {
        MockHttpServletRequest request = new MockHttpServletRequest("GET", "/api/me");
        request.setCookies(cookie);
        return services.autoLogin(request, new MockHttpServletResponse()) != null;
    }

    @Test
    void aSignOutEndsTheCookiesMadeBefore() {
        Cookie before = login();
        nextMillisecond();
        assertThat(logsIn(before)).isTrue();
        revocations.revoke("admin");
        nextMillisecond();
        assertThat(logsIn(before)).as("made before the sign-out").isFalse();
        assertThat(logsIn(login())).as("made after it").isTrue();
    }

    @Test
    void aChangedPasswordEndsThemAtStartUpAndTheSameOneDoesNot() {
        Cookie cookie = login();
        nextMillisecond();
        revocations.passwords(Map.of("admin", SecurityConfiguration.hmac(KEY, "first")));
        assertThat(logsIn(cookie)).as("a restart with the same password").isTrue();
        revocations.passwords(Map.of("admin", SecurityConfiguration.hmac(KEY, "second")));
        nextMillisecond();
        assertThat(logsIn(cookie)).as("a restart with another password").isFalse();
    }
}
