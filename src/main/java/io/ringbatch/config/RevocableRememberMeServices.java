package io.ringbatch.config;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.util.Map;
import org.springframework.http.HttpMethod;
import org.springframework.security.core.userdetails.UserDetails;
import org.springframework.security.core.userdetails.UserDetailsService;
import org.springframework.security.web.authentication.rememberme.InvalidCookieException;
import org.springframework.security.web.authentication.rememberme.TokenBasedRememberMeServices;
import org.springframework.security.web.servlet.util.matcher.PathPatternRequestMatcher;
import org.springframework.security.web.util.matcher.RequestMatcher;

/**
 * "Stay signed in": Spring's signed cookie ({@code user:expiry:algorithm:signature}, SHA-256), with three
 * changes. It is signed with a fingerprint of the configured password rather than the stored hash
 * (which gets a new salt at every start); it is refused when it was made at or before the user's
 * {@link LoginRevocations} time (a sign-out, a changed password); and it is {@code SameSite=Lax}, so a
 * browser sends it with another site's links but not with its forms or scripts (the CSRF token is
 * what refuses those; this is a second wall). It is {@code Secure} when the login came over TLS.
 */
class RevocableRememberMeServices extends TokenBasedRememberMeServices {
    static final String COOKIE = "ringbatch-remember-me";
    private static final RequestMatcher LOGIN_FORM = PathPatternRequestMatcher.pathPattern(HttpMethod.POST, "/login");

    private final Map<String, String> fingerprints;
    private final LoginRevocations revocations;

    RevocableRememberMeServices(String key, UserDetailsService users, Map<String, String> fingerprints,
                                LoginRevocations revocations) {
        super(key, users, RememberMeTokenAlgorithm.SHA256);
        this.fingerprints = fingerprints;
        this.revocations = revocations;
        setCookieName(COOKIE);
        setCookieCustomizer(cookie -> cookie.setAttribute("SameSite", "Lax"));
    }

    /** Only the form sets it: REST clients with HTTP basic get no cookie. */
    @Override
    protected boolean rememberMeRequested(HttpServletRequest request, String parameter) {
        return LOGIN_FORM.matches(request) && super.rememberMeRequested(request, parameter);
    }

    @Override
    protected String makeTokenSignature(long expiry, String username, String password,
                                        RememberMeTokenAlgorithm algorithm) {
        return super.makeTokenSignature(expiry, username, fingerprints.getOrDefault(username, password), algorithm);
    }

    @Override
    protected UserDetails processAutoLoginCookie(String[] tokens, HttpServletRequest request,
                                                 HttpServletResponse response) {
        UserDetails user = super.processAutoLoginCookie(tokens, request, response);
        // the cookie holds its expiry; it was made one validity before that
        long made = Long.parseLong(tokens[1]) - getTokenValiditySeconds() * 1000L;
        if (made <= revocations.validAfter(user.getUsername())) {
            throw new InvalidCookieException("the cookie was made before the user's last sign-out or password change");
        }
        return user;
    }
}
