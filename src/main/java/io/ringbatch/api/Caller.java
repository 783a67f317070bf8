package io.ringbatch.api;

import org.springframework.security.core.Authentication;
import org.springframework.security.core.GrantedAuthority;

/**
 * Who asks, as far as a view cares: whether they may steer jobs (role OPERATOR). Views list the actions
 * the caller may take, so two callers can see the same job differently.
 */
public record Caller(boolean operator) {
    public static final Caller OPERATOR = new Caller(true);
    public static final Caller VIEWER = new Caller(false);

    /** The caller of a request; a request without a login (none reaches the API) may do nothing. */
    public static Caller of(Authentication authentication) {
        if (authentication == null) {
            return VIEWER;
        }
        for (GrantedAuthority authority : authentication.getAuthorities()) {
            if ("ROLE_OPERATOR".equals(authority.getAuthority())) {
                return OPERATOR;
            }
        }
        return VIEWER;
    }
}
