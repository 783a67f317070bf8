package io.ringbatch.config;

import io.ringbatch.api.WorkerRoleFilter;
import jakarta.servlet.http.Cookie;
import jakarta.servlet.http.HttpServletRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.security.autoconfigure.actuate.web.servlet.EndpointRequest;
import org.springframework.boot.sql.init.dependency.DependsOnDatabaseInitialization;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.core.userdetails.User;
import org.springframework.security.core.userdetails.UserDetails;
import org.springframework.security.core.userdetails.UserDetailsService;
import org.springframework.security.crypto.factory.PasswordEncoderFactories;
import org.springframework.security.crypto.password.PasswordEncoder;
import org.springframework.security.provisioning.InMemoryUserDetailsManager;
import org.springframework.security.web.AuthenticationEntryPoint;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.authentication.HttpStatusEntryPoint;
import org.springframework.security.web.authentication.LoginUrlAuthenticationEntryPoint;
import org.springframework.security.web.authentication.NullRememberMeServices;
import org.springframework.security.web.authentication.UsernamePasswordAuthenticationFilter;
import org.springframework.security.web.authentication.RememberMeServices;
import org.springframework.security.web.authentication.www.BasicAuthenticationEntryPoint;
import org.springframework.security.web.servlet.util.matcher.PathPatternRequestMatcher;
import org.springframework.security.web.savedrequest.HttpSessionRequestCache;
import org.springframework.security.web.savedrequest.RequestCache;
import org.springframework.security.web.util.matcher.AndRequestMatcher;
import org.springframework.security.web.util.matcher.AnyRequestMatcher;
import org.springframework.security.web.util.matcher.MediaTypeRequestMatcher;
import org.springframework.security.web.util.matcher.NegatedRequestMatcher;
import org.springframework.security.web.util.matcher.OrRequestMatcher;
import org.springframework.security.web.util.matcher.RequestHeaderRequestMatcher;
import org.springframework.security.web.util.matcher.RequestMatcher;
import tools.jackson.databind.json.JsonMapper;

/**
 * Logins and access rules.
 * <ul>
 *   <li>{@code admin} has roles VIEWER and OPERATOR; its password is {@code ringbatch.security.admin-password},
 *       or one generated at start-up and logged once. {@code viewer} (role VIEWER) exists when
 *       {@code ringbatch.security.viewer-password} is set.</li>
 *   <li>{@code metrics} (role METRICS) exists when {@code ringbatch.security.metrics-password} is set: it
 *       may read {@code /actuator/prometheus} and nothing else, so that a scraper's password opens no job.</li>
 *   <li>{@code /actuator/health/**} and {@code /actuator/info} are open (probes); {@code /actuator/prometheus}
 *       needs OPERATOR or METRICS, the other actuator endpoints OPERATOR.</li>
 *   <li>Under {@code /api}: reads need VIEWER or OPERATOR, anything that changes state needs OPERATOR.
 *       Everything else needs a login.</li>
 *   <li>HTTP basic for REST clients, a login form for browsers. A request that asks for HTML and is not
 *       logged in is sent to the form; any other gets 401 (with {@code WWW-Authenticate: Basic}, except
 *       for XMLHttpRequests, so a page's script does not raise the browser's password dialog).</li>
 *   <li>CSRF protection (a token per session, which the dashboard gets from {@code GET /api/me}) is on for
 *       every request that a cookie logs in: the session's, and "stay signed in" (a browser reopened
 *       with that cookie alone would otherwise let any site's form stop or abandon jobs). It is off for
 *       {@code /api/**} requests that carry their own {@code Authorization} header or no such cookie:
 *       they cannot be forged by another site, and REST clients have no token to send. Both cookies are
 *       {@code SameSite=Lax}, and {@code Secure} when served over TLS.</li>
 *   <li>{@code ringbatch.role=worker}: the actuator endpoints alone, under the same rules, with HTTP basic;
 *       every other path is 404 ({@link WorkerRoleFilter}).</li>
 * </ul>
 */
@Configuration(proxyBeanMethods = false)
public class SecurityConfiguration {
    private static final Logger log = LoggerFactory.getLogger(SecurityConfiguration.class);
    static final String REALM = "ringbatch";
    static final String ADMIN = "admin";
    static final String VIEWER_USER = "viewer";
    static final String ROLE_VIEWER = "VIEWER";
    static final String ROLE_OPERATOR = "OPERATOR";
    static final String METRICS_USER = "metrics";
    static final String ROLE_METRICS = "METRICS";
    /** {@code {bcrypt}...}, {@code {noop}...}: a value the delegating encoder can match as it is. */
    private static final Pattern ENCODED = Pattern.compile("^\\{[A-Za-z0-9_.-]+}.+");

    @Bean
    SecurityFilterChain securityFilterChain(HttpSecurity http, RememberMeServices rememberMe, LoginThrottle throttle,
                                            LoginRevocations revocations, RingbatchProperties properties)
            throws Exception {
        if (properties.role() == RingbatchProperties.Role.WORKER) {
            return workerChain(http, throttle);
        }
        RequestMatcher api = PathPatternRequestMatcher.pathPattern("/api/**");
        AuthenticationEntryPoint basic = basicEntryPoint();
        http
                .authorizeHttpRequests(requests -> requests
                        .requestMatchers(EndpointRequest.to("health", "info")).permitAll()
                        .requestMatchers(EndpointRequest.to("prometheus")).hasAnyRole(ROLE_OPERATOR, ROLE_METRICS)
                        .requestMatchers(EndpointRequest.toAnyEndpoint()).hasRole(ROLE_OPERATOR)
                        .requestMatchers("/error").permitAll()
                        .requestMatchers(HttpMethod.GET, "/login").permitAll()
                        // the dashboard's scripts, styles and libraries: nothing in them is secret
                        .requestMatchers(HttpMethod.GET, "/assets/**", "/webjars/**", "/favicon.svg").permitAll()
                        .requestMatchers(HttpMethod.GET, "/api/**").hasAnyRole(ROLE_VIEWER, ROLE_OPERATOR)
                        .requestMatchers(HttpMethod.HEAD, "/api/**").hasAnyRole(ROLE_VIEWER, ROLE_OPERATOR)
                        .requestMatchers(HttpMethod.OPTIONS, "/api/**").hasAnyRole(ROLE_VIEWER, ROLE_OPERATOR)
                        .requestMatchers(api).hasRole(ROLE_OPERATOR)
                        // the dashboard and the API description: people, not the metrics scraper
                        .anyRequest().hasAnyRole(ROLE_VIEWER, ROLE_OPERATOR))
                .httpBasic(httpBasic -> httpBasic.realmName(REALM).authenticationEntryPoint(basic))
                .formLogin(form -> form.loginPage("/login").permitAll())
                .rememberMe(remember -> remember.rememberMeServices(rememberMe))
                .addFilterBefore(throttle, UsernamePasswordAuthenticationFilter.class)
                .logout(logout -> logout.permitAll().addLogoutHandler((request, response, authentication) -> {
                    if (authentication != null) {
                        revocations.revoke(authentication.getName());
                    }
                }))
                // Remember only page navigations for after the login; a REST call's 401 makes no session.
                .requestCache(cache -> cache.requestCache(pageRequestCache()))
                .csrf(csrf -> csrf.ignoringRequestMatchers(request -> api.matches(request) && notCookieBound(request)))
                // Entry points as defaults by request kind, not one fixed entry point: a fixed one would
                // switch off Spring Security's generated login page.
                .exceptionHandling(exceptions -> exceptions
                        .defaultAuthenticationEntryPointFor(new HttpStatusEntryPoint(HttpStatus.UNAUTHORIZED), xhr())
                        .defaultAuthenticationEntryPointFor(new LoginUrlAuthenticationEntryPoint("/login"), html())
                        .defaultAuthenticationEntryPointFor(basic, AnyRequestMatcher.INSTANCE));
        return http.build();
    }

    /**
     * {@code ringbatch.role=worker}: the actuator endpoints under the same rules as on a combined instance,
     * HTTP basic only (no login form, no sessions to remember); {@link WorkerRoleFilter} answers 404 for
     * every other path before this chain, and anything that got past it would be refused here.
     */
    private static SecurityFilterChain workerChain(HttpSecurity http, LoginThrottle throttle) throws Exception {
        http
                .authorizeHttpRequests(requests -> requests
                        .requestMatchers(EndpointRequest.to("health", "info")).permitAll()
                        .requestMatchers(EndpointRequest.to("prometheus")).hasAnyRole(ROLE_OPERATOR, ROLE_METRICS)
                        .requestMatchers(EndpointRequest.toAnyEndpoint()).hasRole(ROLE_OPERATOR)
                        .requestMatchers("/error").permitAll()
                        .anyRequest().denyAll())
                .httpBasic(httpBasic -> httpBasic.realmName(REALM).authenticationEntryPoint(basicEntryPoint()))
                .addFilterBefore(throttle, UsernamePasswordAuthenticationFilter.class)
                .sessionManagement(session -> session.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
                .csrf(csrf -> csrf.disable());
        return http.build();
    }

    /** Registered on a worker only: everything but the actuator endpoints is 404 there. */
    @Bean
    FilterRegistrationBean<WorkerRoleFilter> workerRoleFilter(RingbatchProperties properties, JsonMapper json) {
        FilterRegistrationBean<WorkerRoleFilter> registration = new FilterRegistrationBean<>(new WorkerRoleFilter(json));
        registration.setOrder(WorkerRoleFilter.ORDER);
        registration.setEnabled(properties.role() == RingbatchProperties.Role.WORKER);
        return registration;
    }

    /**
     * Credentials of its own (HTTP basic), or no cookie that could log it in (neither a session nor "stay
     * signed in"): not something another site can forge. A form on another site can send the browser's
     * cookies but never an Authorization header; what rides on a cookie needs the CSRF token.
     */
    private static boolean notCookieBound(HttpServletRequest request) {
        if (request.getHeader(HttpHeaders.AUTHORIZATION) != null) {
            return true;
        }
        if (request.getRequestedSessionId() != null) {
            return false;
        }
        Cookie[] cookies = request.getCookies();
        return cookies == null || Arrays.stream(cookies).noneMatch(c -> RevocableRememberMeServices.COOKIE.equals(c.getName()));
    }

    private static AuthenticationEntryPoint basicEntryPoint() {
        BasicAuthenticationEntryPoint basic = new BasicAuthenticationEntryPoint();
        basic.setRealmName(REALM);
        return basic;
    }

    private static RequestCache pageRequestCache() {
        HttpSessionRequestCache cache = new HttpSessionRequestCache();
        cache.setRequestMatcher(new AndRequestMatcher(PathPatternRequestMatcher.pathPattern(HttpMethod.GET, "/**"),
                html(), new NegatedRequestMatcher(xhr())));
        return cache;
    }

    /** Asks for a page: sent to the login form. */
    private static RequestMatcher html() {
        MediaTypeRequestMatcher html = new MediaTypeRequestMatcher(MediaType.TEXT_HTML);
        html.setIgnoredMediaTypes(Set.of(MediaType.ALL));
        return html;
    }

    /**
     * A page's script or event stream: 401 without WWW-Authenticate, so that no browser password dialog
     * pops up (an EventSource cannot set headers, but it asks for text/event-stream).
     */
    private static RequestMatcher xhr() {
        MediaTypeRequestMatcher events = new MediaTypeRequestMatcher(MediaType.TEXT_EVENT_STREAM);
        events.setIgnoredMediaTypes(Set.of(MediaType.ALL));
        return new OrRequestMatcher(new RequestHeaderRequestMatcher("X-Requested-With", "XMLHttpRequest"), events);
    }

    /**
     * "Stay signed in" on the login form (ticked by default): a signed cookie that logs the browser in again
     * when its session is gone, as after a restart of the service, for {@code ringbatch.security.remember-me}
     * (0: never). The cookie is signed with a key kept in the data dir, so it survives restarts, and with
     * a fingerprint of the user's password, so it dies with a changed (or newly generated) password; a
     * sign-out or a changed password also ends the cookies made before on every instance
     * ({@link LoginRevocations}).
     */
    @Bean
    RememberMeServices rememberMeServices(RingbatchProperties properties, UserDetailsService users,
                                          LoginRevocations revocations) {
        Duration validity = properties.security().rememberMe();
        if (validity == null || validity.isZero() || validity.isNegative()) {
            return new NullRememberMeServices();
        }
        String configuredKey = properties.security().rememberMeKey();
        String key = configuredKey != null && !configuredKey.isBlank() ? configuredKey
                : rememberMeKey(properties.dataDir());
        // Spring signs with the stored password, which is encoded with a new salt at every start: sign with
        // a fingerprint of the configured one instead (a generated password gets a new fingerprint per start)
        Map<String, String> fingerprints = new HashMap<>();
        Map<String, String> stored = new HashMap<>();
        for (Map.Entry<String, String> user : passwords(properties).entrySet()) {
            fingerprints.put(user.getKey(), fingerprint(key, user.getValue()));
            // what the table keeps: another keyed hash than the one that signs, and never the password
            stored.put(user.getKey(), hmac(key, fingerprints.get(user.getKey())));
        }
        revocations.passwords(stored);
        RevocableRememberMeServices services = new RevocableRememberMeServices(key, users, fingerprints, revocations);
        services.setParameter(REMEMBER_ME_PARAMETER);
        services.setTokenValiditySeconds((int) Math.min(Integer.MAX_VALUE, validity.toSeconds()));
        return services;
    }

    /** The configured passwords by user; a user whose password is generated maps to null. */
    private static Map<String, String> passwords(RingbatchProperties properties) {
        Map<String, String> passwords = new HashMap<>();
        passwords.put(ADMIN, properties.security().adminPassword());
        if (properties.security().viewerPassword() != null && !properties.security().viewerPassword().isBlank()) {
            passwords.put(VIEWER_USER, properties.security().viewerPassword());
        }
        return passwords;
    }

    @Bean
    @DependsOnDatabaseInitialization
    LoginRevocations loginRevocations(DataSource dataSource, Clock clock) {
        return new LoginRevocations(dataSource, clock);
    }

    static final String REMEMBER_ME_PARAMETER = "remember-me";

    @Bean
    LoginThrottle loginThrottle(RingbatchProperties properties, Clock clock) {
        return new LoginThrottle(properties.security().loginAttempts(), properties.security().loginWindow(), clock);
    }

    @Bean
    TrustedProxies trustedProxies(RingbatchProperties properties) {
        return new TrustedProxies(properties.security().trustedProxies());
    }

    /** The throttle runs inside the security chain only, not a second time as a servlet filter. */
    @Bean
    FilterRegistrationBean<LoginThrottle> loginThrottleRegistration(LoginThrottle throttle) {
        FilterRegistrationBean<LoginThrottle> registration = new FilterRegistrationBean<>(throttle);
        registration.setEnabled(false);
        return registration;
    }

    /** Stable for a configured password (so a restart keeps the cookie valid), random for a generated one. */
    private static String fingerprint(String key, String password) {
        if (password == null || password.isBlank()) {
            return generatePassword();
        }
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(key.getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            return HexFormat.of().formatHex(sha.digest(password.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** HMAC-SHA256 of the text with the key, in hex. */
    static String hmac(String key, String text) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return HexFormat.of().formatHex(mac.doFinal(text.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A random key, made once and kept (owner-only) in the data dir; a process-wide one if it cannot be. */
    static String rememberMeKey(Path dataDir) {
        Path file = dataDir.resolve("remember-me.key");
        try {
            if (Files.isRegularFile(file)) {
                String key = Files.readString(file, StandardCharsets.US_ASCII).strip();
                if (key.length() >= 32) {
                    return key;
                }
            }
            String key = generatePassword() + generatePassword();
            Files.createDirectories(dataDir);
            Path temp = Files.createTempFile(dataDir, "remember-me", ".tmp",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(temp, key + "\n", StandardCharsets.US_ASCII);
            Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return key;
        } catch (IOException | UnsupportedOperationException e) {
            log.warn("could not keep the remember-me key in {} ({}): logins through the form will not survive a "
                    + "restart", file, e.toString());
            return generatePassword() + generatePassword();
        }
    }

    @Bean
    PasswordEncoder passwordEncoder(java.time.Clock clock) {
        // API clients send basic credentials with every request: one bcrypt check per client per minute
        return new VerifiedPasswordCache(PasswordEncoderFactories.createDelegatingPasswordEncoder(),
                java.time.Duration.ofMinutes(1), 256, clock);
    }

    @Bean
    UserDetailsService userDetailsService(RingbatchProperties properties, PasswordEncoder encoder) {
        RingbatchProperties.Security security = properties.security();
        List<UserDetails> users = new ArrayList<>();
        String adminPassword = security.adminPassword();
        if (adminPassword == null || adminPassword.isBlank()) {
            adminPassword = generatePassword();
            log.warn("No ringbatch.security.admin-password is set: generated password for user '{}' (valid until"
                    + " this process stops; every start generates a new one): {}", ADMIN, adminPassword);
        }
        users.add(User.withUsername(ADMIN).password(encoded(adminPassword, encoder))
                .roles(ROLE_VIEWER, ROLE_OPERATOR).build());
        String viewerPassword = security.viewerPassword();
        if (viewerPassword != null && !viewerPassword.isBlank()) {
            users.add(User.withUsername(VIEWER_USER).password(encoded(viewerPassword, encoder))
                    .roles(ROLE_VIEWER).build());
        }
        String metricsPassword = security.metricsPassword();
        if (metricsPassword != null && !metricsPassword.isBlank()) {
            users.add(User.withUsername(METRICS_USER).password(encoded(metricsPassword, encoder))
                    .roles(ROLE_METRICS).build());
        }
        return new InMemoryUserDetailsManager(users);
    }

    private static String encoded(String password, PasswordEncoder encoder) {
        return ENCODED.matcher(password).matches() ? password : encoder.encode(password);
    }

    private static String generatePassword() {
        byte[] bytes = new byte[18];
        new SecureRandom().nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }
}
