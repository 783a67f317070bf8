package io.ringbatch.config;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.security.authentication.event.AbstractAuthenticationFailureEvent;
import org.springframework.security.authentication.event.AuthenticationSuccessEvent;
import org.springframework.security.web.authentication.WebAuthenticationDetails;
import org.springframework.context.event.EventListener;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Failed logins are rate-limited: after {@code ringbatch.security.login-attempts} failures within
 * {@code ringbatch.security.login-window} for one user from one address (or five times as many from one
 * address for any users), further logins of that key are refused, right password or not, until the oldest
 * failure leaves the window: 429 with Retry-After for HTTP basic, the form again with a message for the
 * login form. A success clears the user's failures from that address. At most 10,000 keys are remembered
 * (the oldest go first), so a flood of addresses cannot exhaust memory.
 * <p>
 * The address is the client's: the peer's, or behind a proxy of {@code ringbatch.security.trusted-proxies}
 * the one it puts in {@code X-Forwarded-For} ({@link TrustedProxies}), so that a flood of failures for
 * {@code admin} from one client does not lock out {@code admin} on every other, and a client cannot
 * name a new address for each guess. User names are case-folded.
 */
public class LoginThrottle extends OncePerRequestFilter {
    private static final Logger log = LoggerFactory.getLogger(LoginThrottle.class);
    static final int MAX_KEYS = 10_000;
    static final int ADDRESS_FACTOR = 5;

    private final int attempts;
    private final long windowMillis;
    private final Clock clock;
    /** Failure times per key, oldest first; the map in access order, to drop the least recently used. */
    private final Map<String, ArrayDeque<Long>> failures = new LinkedHashMap<>(64, 0.75f, true);

    public LoginThrottle(int attempts, Duration window, Clock clock) {
        this.attempts = attempts;
        this.windowMillis = window.toMillis();
        this.clock = clock;
    }

    /** User names are case-insensitive (Spring's in-memory users): so are the keys, or ADMIN would get its own. */
    private static String userKey(String address, String user) {
        return "user:" + user.toLowerCase(Locale.ROOT) + "@" + address;
    }

    private static String addressKey(String address) {
        return "address:" + address;
    }

    /** Milliseconds until this login may be tried again; 0 if it may now. */
    synchronized long retryAfter(String address, String user, long now) {
        long wait = waitFor(userKey(address, user), attempts, now);
        return Math.max(wait, waitFor(addressKey(address), attempts * ADDRESS_FACTOR, now));
    }

    private long waitFor(String key, int limit, long now) {
        ArrayDeque<Long> times = failures.get(key);
        if (times == null) {
            return 0;
        }
        while (!times.isEmpty() && times.peekFirst() <= now - windowMillis) {
            times.pollFirst();
        }
        if (times.isEmpty()) {
            failures.remove(key);
            return 0;
        }
        return times.size() < limit ? 0 : times.peekFirst() + windowMillis - now;
    }

    synchronized void failed(String address, String user, long now) {
        record(userKey(address, user), now);
        record(addressKey(address), now);
    }

    private void record(String key, long now) {
        ArrayDeque<Long> times = failures.computeIfAbsent(key, k -> new ArrayDeque<>());
        times.addLast(now);
        while (times.size() > attempts * ADDRESS_FACTOR) {
            times.pollFirst();
        }
        if (failures.size() > MAX_KEYS) {
            Iterator<String> oldest = failures.keySet().iterator();
            oldest.next();
            oldest.remove();
        }
    }

    synchronized int size() {
        return failures.size();
    }

    synchronized void succeeded(String address, String user) {
        failures.remove(userKey(address, user));
    }

    @EventListener
    public void onFailure(AbstractAuthenticationFailureEvent event) {
        String user = String.valueOf(event.getAuthentication().getName());
        String address = address(event.getAuthentication().getDetails());
        if (address != null) {
            failed(address, user, clock.millis());
            log.warn("failed login for user '{}' from {}", clean(user), address);
        }
    }

    @EventListener
    public void onSuccess(AuthenticationSuccessEvent event) {
        String address = address(event.getAuthentication().getDetails());
        if (address != null) {
            succeeded(address, event.getAuthentication().getName());
        }
    }

    private static String address(Object details) {
        return details instanceof WebAuthenticationDetails web ? web.getRemoteAddress() : null;
    }

    private static String clean(String user) {
        String cut = user.length() > 64 ? user.substring(0, 64) + "..." : user;
        return cut.replaceAll("[^\\x20-\\x7E]", "?");
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        boolean form = "POST".equals(request.getMethod()) && "/login".equals(request.getServletPath());
        String user = form ? request.getParameter("username") : basicUser(request);
        if (user != null) {
            long wait = retryAfter(request.getRemoteAddr(), user, clock.millis());
            if (wait > 0) {
                long seconds = Math.max(1, (wait + 999) / 1000);
                log.warn("login for user '{}' from {} refused: too many failed logins; retry in {} s", clean(user),
                        request.getRemoteAddr(), seconds);
                if (form) {
                    response.sendRedirect(request.getContextPath() + "/login?locked=" + seconds);
                } else {
                    response.setStatus(429);
                    response.setHeader(HttpHeaders.RETRY_AFTER, Long.toString(seconds));
                    response.setContentType("application/problem+json;charset=UTF-8");
                    response.getWriter().write("{\"type\":\"about:blank\",\"title\":\"Too Many Requests\",\"status\":429,"
                            + "\"detail\":\"too many failed logins for this user from this address; retry in " + seconds
                            + " s\",\"instance\":\"" + request.getRequestURI().replace("\"", "%22") + "\"}");
                }
                return;
            }
        }
        chain.doFilter(request, response);
    }

    /** The user name of an HTTP basic Authorization header, or null. */
    static String basicUser(HttpServletRequest request) {
        String header = request.getHeader(HttpHeaders.AUTHORIZATION);
        if (header == null || !header.regionMatches(true, 0, "Basic ", 0, 6)) {
            return null;
        }
        try {
            String decoded = new String(Base64.getDecoder().decode(header.substring(6).trim()), StandardCharsets.UTF_8);
            int colon = decoded.indexOf(':');
            return colon < 0 ? decoded : decoded.substring(0, colon);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
