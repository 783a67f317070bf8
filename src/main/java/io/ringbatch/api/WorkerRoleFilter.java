package io.ringbatch.api;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.springframework.boot.security.autoconfigure.actuate.web.servlet.EndpointRequest;
import org.springframework.core.Ordered;
import org.springframework.http.MediaType;
import org.springframework.security.web.util.matcher.RequestMatcher;
import org.springframework.web.filter.OncePerRequestFilter;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code ringbatch.role=worker}: the instance serves its actuator endpoints (health for the probes,
 * metrics) and nothing else. Every other path, the job API, the operations, the workers list, the
 * dashboard, its login page and the API description, is 404 (an RFC 9457 problem), before Spring
 * Security or any controller sees it: a worker has no jobs of its own to show, and answering as if it
 * had would mislead a client pointed at it by mistake. Only registered on a worker
 * ({@link io.ringbatch.config.SecurityConfiguration}).
 */
public class WorkerRoleFilter extends OncePerRequestFilter implements Ordered {
    /** Before {@link ApiProblemFilter} and Spring Security. */
    public static final int ORDER = ApiProblemFilter.ORDER - 100;
    static final String DETAIL = "this instance is a worker (ringbatch.role=worker): it runs partitions and serves "
            + "health and metrics only; the API and the dashboard are on the combined instances";

    private final RequestMatcher actuator = EndpointRequest.toAnyEndpoint();
    private final JsonMapper json;

    public WorkerRoleFilter(JsonMapper json) {
        this.json = json;
    }

    @Override
    public int getOrder() {
        return ORDER;
    }

    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        return actuator.matches(request);
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        response.setStatus(HttpServletResponse.SC_NOT_FOUND);
        response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
        response.setCharacterEncoding("UTF-8");
        json.writeValue(response.getOutputStream(), Problems.asMap(404, DETAIL, ApiProblemFilter.path(request)));
    }
}
